import { type Address, encodeFunctionData, erc20Abi, type Hex, parseGwei } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { LocalChain } from "../../packages/gateway/src/sandbox/local-chain.ts";
import { rpc } from "./json-rpc.ts";

const GAS = 100_000n;

export interface Payer {
  /** Signs transfers of the test USDT with consecutive nonces, to be sent later as they are. */
  sign(transfers: Array<{ to: Address; value: bigint }>): Promise<Hex[]>;
  /** eth_sendRawTransaction straight to anvil (never through the counting proxy). */
  send(raw: Hex): Promise<Hex>;
}

/** Pays from the local chain's funded payer account. */
export function createPayer(chain: LocalChain): Payer {
  const account = privateKeyToAccount(chain.payerPrivateKey);
  return {
    async sign(transfers) {
      let nonce = Number(
        await rpc<string>(chain.rpcUrl, "eth_getTransactionCount", [account.address, "pending"]),
      );
      const raws: Hex[] = [];
      for (const t of transfers) {
        raws.push(
          await account.signTransaction({
            chainId: chain.evmChainId,
            type: "eip1559",
            to: chain.tokenAddress,
            data: encodeFunctionData({
              abi: erc20Abi,
              functionName: "transfer",
              args: [t.to, t.value],
            }),
            nonce: nonce++,
            gas: GAS,
            // Far above anvil's base fee (1 gwei and falling on empty blocks): never stuck.
            maxFeePerGas: parseGwei("20"),
            maxPriorityFeePerGas: parseGwei("1"),
          }),
        );
      }
      return raws;
    },
    send: (raw) => rpc<Hex>(chain.rpcUrl, "eth_sendRawTransaction", [raw]),
  };
}
