import { type Address, encodeFunctionData, erc20Abi, type Hex, type PublicClient } from "viem";

/** The ERC-20 call the hot wallet signs. */
export function transferCalldata(v: { to: Address; amount: bigint }): Hex {
  return encodeFunctionData({ abi: erc20Abi, functionName: "transfer", args: [v.to, v.amount] });
}

export function tokenBalanceOf(client: PublicClient, token: Address, owner: Address) {
  return client.readContract({
    address: token,
    abi: erc20Abi,
    functionName: "balanceOf",
    args: [owner],
  });
}
