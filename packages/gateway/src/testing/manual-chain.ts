import { testUsdtAbi, testUsdtBytecode } from "@stablegate/contracts";
import {
  type Address,
  concatHex,
  createPublicClient,
  createTestClient,
  createWalletClient,
  encodeFunctionData,
  erc20Abi,
  getContractAddress,
  type Hex,
  parseAbi,
  parseUnits,
  sliceHex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { type LocalChain, startLocalChain } from "../sandbox/local-chain.ts";
import { freePort } from "./cli-process.ts";
import { createTestLogger } from "./test-logger.ts";
import { testTransport } from "./test-transport.ts";

export interface ManualChain {
  chain: LocalChain;
  publicClient: ReturnType<typeof createPublicClient>;
  /** Mines `blocks` empty-or-pending blocks at once; returns the new head number. */
  mine(blocks?: number): Promise<bigint>;
  head(): Promise<bigint>;
  /** Signs a payer transfer of `token` (default: the test USDT) without sending it. */
  signTransfer(options: {
    token?: Address;
    to: Address;
    value: bigint;
    nonce?: number;
  }): Promise<Hex>;
  /** Sends a payer transfer to the mempool; it lands in the next mined block. */
  transfer(options: { token?: Address; to: Address; value: bigint }): Promise<Hex>;
  sendRaw(serialized: Hex): Promise<Hex>;
  /**
   * One transaction that emits a Transfer of `token` per entry: a contract creation whose init
   * code calls `transfer` once per entry from the new address, which the payer funds just before.
   * Two transactions enter the mempool (the funding one first); returns the creation's hash.
   */
  multiTransfer(token: Address, transfers: { to: Address; value: bigint }[]): Promise<Hex>;
  /** Deploys another TestUSDT (a look-alike at another address) and mints to the payer. */
  deployLookAlikeToken(): Promise<Address>;
  /** anvil_reorg: replaces the last `depth` blocks; `txs` are [raw signed tx, block offset]. */
  reorg(depth: number, txs?: [Hex, number][]): Promise<void>;
  /** anvil_rollback: removes the last `depth` blocks. */
  rollback(depth: number): Promise<void>;
  stop(): Promise<void>;
}

const mintAbi = parseAbi(["function mint(address to, uint256 value)"]);

/**
 * The sandbox's local chain with interval mining switched off after setup: blocks appear only
 * when a test mines them, so what the chain looks like at each step is deterministic.
 */
export async function startManualChain(): Promise<ManualChain> {
  const chain = await startLocalChain({
    port: await freePort(),
    blockTimeSeconds: 0.1,
    log: createTestLogger(),
  });
  const transport = testTransport(chain.rpcUrl);
  const publicClient = createPublicClient({ chain: anvil, transport, pollingInterval: 50 });
  const testClient = createTestClient({ mode: "anvil", chain: anvil, transport });
  await testClient.setIntervalMining({ interval: 0 });
  await testClient.setAutomine(false);

  const payer = privateKeyToAccount(chain.payerPrivateKey);
  const payerWallet = createWalletClient({ account: payer, chain: anvil, transport });
  // Anvil's dev accounts are unlocked; account 0 deployed the test USDT.
  const [deployer] = await createWalletClient({ chain: anvil, transport }).getAddresses();
  if (deployer === undefined) throw new Error("anvil has no accounts");
  const deployerWallet = createWalletClient({ account: deployer, chain: anvil, transport });

  const nextNonce = () =>
    publicClient.getTransactionCount({ address: payer.address, blockTag: "pending" });

  const signTransaction = async (request: { to?: Address; data: Hex; nonce?: number }) => {
    const nonce = request.nonce ?? (await nextNonce());
    const fees = await publicClient.estimateFeesPerGas();
    return payerWallet.signTransaction({
      ...(request.to === undefined ? {} : { to: request.to }),
      data: request.data,
      nonce,
      gas: 500_000n,
      // Generous, so the same signed transaction still fits after a reorg changes the base fee.
      maxFeePerGas: fees.maxFeePerGas * 4n,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
  };

  const sendRaw = (serialized: Hex) =>
    publicClient.sendRawTransaction({ serializedTransaction: serialized });

  const signTransfer: ManualChain["signTransfer"] = (options) =>
    signTransaction({
      to: options.token ?? chain.tokenAddress,
      data: encodeFunctionData({
        abi: erc20Abi,
        functionName: "transfer",
        args: [options.to, options.value],
      }),
      ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
    });

  const mine = async (blocks = 1) => {
    await testClient.mine({ blocks });
    return publicClient.getBlockNumber({ cacheTime: 0 });
  };

  return {
    chain,
    publicClient,
    mine,
    head: () => publicClient.getBlockNumber({ cacheTime: 0 }),
    signTransfer,
    transfer: async (options) => sendRaw(await signTransfer(options)),
    sendRaw,
    async multiTransfer(token, transfers) {
      const nonce = await nextNonce();
      const contract = getContractAddress({ from: payer.address, nonce: BigInt(nonce + 1) });
      const total = transfers.reduce((sum, t) => sum + t.value, 0n);
      await sendRaw(await signTransfer({ token, to: contract, value: total, nonce }));
      return sendRaw(
        await signTransaction({ data: transferringInitCode(token, transfers), nonce: nonce + 1 }),
      );
    },
    async deployLookAlikeToken() {
      const hash = await deployerWallet.deployContract({
        abi: testUsdtAbi,
        bytecode: testUsdtBytecode,
      });
      await mine();
      const receipt = await publicClient.getTransactionReceipt({ hash });
      if (!receipt.contractAddress) throw new Error("look-alike token deployment failed");
      await deployerWallet.writeContract({
        address: receipt.contractAddress,
        abi: mintAbi,
        functionName: "mint",
        args: [payer.address, parseUnits("1000000", 6)],
      });
      await mine();
      return receipt.contractAddress;
    },
    async reorg(depth, txs = []) {
      await publicClient.request({
        method: "anvil_reorg",
        params: [depth, txs],
      } as never);
    },
    async rollback(depth) {
      await publicClient.request({ method: "anvil_rollback", params: [depth] } as never);
    },
    stop: () => chain.stop(),
  };
}

/**
 * Hand-assembled init code: for each transfer, copy its `transfer(to, value)` calldata from the
 * end of the code into memory, CALL the token, and revert if the call failed. Deploys no code.
 */
function transferringInitCode(token: Address, transfers: { to: Address; value: bigint }[]): Hex {
  const CALL_BLOCK = 46; // bytes per transfer, see below
  const revertAt = CALL_BLOCK * transfers.length + 1;
  const dataStart = revertAt + 5;
  const push2 = (n: number) => `61${n.toString(16).padStart(4, "0")}`;
  let code = "";
  transfers.forEach((_, i) => {
    code +=
      `6044${push2(dataStart + 68 * i)}600039` + // CODECOPY(0, dataOffset, 68)
      `60006000604460006000` + // retSize, retOffset, argsSize, argsOffset, value
      `73${token.slice(2).toLowerCase()}5af1` + // PUSH20 token, GAS, CALL
      `15${push2(revertAt)}57`; // ISZERO, JUMPI revert
  });
  code += "00"; // STOP
  code += "5b600080fd"; // JUMPDEST, REVERT(0, 0)
  const calldata = transfers.map((t) =>
    encodeFunctionData({ abi: erc20Abi, functionName: "transfer", args: [t.to, t.value] }),
  );
  const init = concatHex([`0x${code}`, ...calldata]);
  if (sliceHex(init, revertAt, revertAt + 1) !== "0x5b") throw new Error("init code layout is off");
  return init;
}
