import {
  type Address,
  createPublicClient,
  encodeFunctionData,
  erc20Abi,
  type Hex,
  http,
  keccak256,
  type PublicClient,
  parseAbi,
  parseEther,
} from "viem";
import { mnemonicToAccount, type PrivateKeyAccount, privateKeyToAccount } from "viem/accounts";
import type { AddCleanup } from "../bench/run-with-cleanups.ts";
import { KNOWN_CHAINS } from "../packages/gateway/src/chain/known-chains.ts";
import { type LocalChain, startLocalChain } from "../packages/gateway/src/sandbox/local-chain.ts";
import { freePort } from "../packages/gateway/src/testing/cli-process.ts";

/** The gateways follow anvil as Arbitrum: `serve` knows real chains only. */
export const CHAIN_KEY = "arb";
const ARB = KNOWN_CHAINS.find((c) => c.key === CHAIN_KEY);
export const EVM_CHAIN_ID = ARB?.evmChainId ?? 42161;
export const TOKEN = ARB?.tokens.find((t) => t.symbol === "USDT")?.address as Address;
export const DECIMALS = 6;

const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";
const mintAbi = parseAbi(["function mint(address to, uint256 value)"]);

export interface ChaosChain {
  rpcUrl: string;
  client: PublicClient;
  rpc<T>(method: string, params?: unknown[]): Promise<T>;
  /** Mints test USDT to `to` (the deployer owns the token) and waits for it to be mined. */
  mint(to: Address, amount: bigint): Promise<void>;
  setBalance(address: Address, wei: bigint): Promise<void>;
  /** Accounts that pay the intents, each with its own nonce queue. */
  payers: Payer[];
  /** Two accounts kept apart for the reorg, so reverting their nonces disturbs no other payer. */
  reorgPayers: [Payer, Payer];
  headTimestamp(): Promise<number>;
}

export interface Payer {
  address: Address;
  /** Signs a token transfer with this payer's next nonce. */
  sign(to: Address, amount: bigint): Promise<{ raw: Hex; hash: Hex }>;
  /** Signs and broadcasts, in nonce order; resolves with the hash once the node has it. */
  pay(to: Address, amount: bigint): Promise<Hex>;
  /** Forgets the local nonce: the next signature asks the node (after a revert took some back). */
  resetNonce(): void;
}

/**
 * Anvil under Arbitrum's chain id with 1 s blocks, the sandbox's test USDT placed at Arbitrum's
 * USDT address, and funded payers.
 */
export async function startChaosChain(
  options: { payers: number; blockTimeSeconds: number },
  addCleanup: AddCleanup,
): Promise<ChaosChain> {
  const log = { info() {}, warn: (o: object, m?: string) => console.warn(m, o) };
  const local: LocalChain = await startLocalChain({
    port: await freePort(),
    blockTimeSeconds: options.blockTimeSeconds,
    evmChainId: EVM_CHAIN_ID,
    log,
  });
  addCleanup("stop anvil", () => local.stop());
  const client = createPublicClient({ transport: http(local.rpcUrl) }) as PublicClient;
  const rpc = <T>(method: string, params: unknown[] = []) =>
    client.request({ method, params } as never) as Promise<T>;

  const code = await rpc<Hex>("eth_getCode", [local.tokenAddress, "latest"]);
  await rpc("anvil_setCode", [TOKEN, code]);
  const deployer = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: 0 });
  const deployerKey = privateKey(deployer.getHdKey().privateKey);
  const minter = createPayer(client, privateKeyToAccount(deployerKey));

  const mint = async (to: Address, amount: bigint) => {
    const hash = await minter.send(TOKEN, encodeFunctionData({ abi: mintAbi, args: [to, amount] }));
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 200 });
    if (receipt.status !== "success") throw new Error(`mint to ${to} reverted (${hash})`);
  };
  const setBalance = async (address: Address, wei: bigint) => {
    await rpc("anvil_setBalance", [address, `0x${wei.toString(16)}`]);
  };

  const makePayer = async (index: number): Promise<Payer> => {
    const hd = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: index });
    const account = privateKeyToAccount(privateKey(hd.getHdKey().privateKey));
    await setBalance(account.address, parseEther("1000"));
    await mint(account.address, 10_000_000n * 10n ** BigInt(DECIMALS));
    const sender = createPayer(client, account);
    const transfer = (to: Address, amount: bigint) =>
      encodeFunctionData({ abi: erc20Abi, functionName: "transfer", args: [to, amount] });
    return {
      address: account.address,
      sign: (to, amount) => sender.sign(TOKEN, transfer(to, amount)),
      pay: (to, amount) => sender.send(TOKEN, transfer(to, amount)),
      resetNonce: sender.resetNonce,
    };
  };
  // Indexes from 10 up: anvil's own ten accounts stay out of the way.
  const made = await Promise.all(
    Array.from({ length: options.payers + 2 }, (_, i) => makePayer(10 + i)),
  );
  const payers = made.slice(0, options.payers);
  const reorgPayers = made.slice(options.payers) as [Payer, Payer];

  return {
    rpcUrl: local.rpcUrl,
    client,
    rpc,
    mint,
    setBalance,
    payers,
    reorgPayers,
    async headTimestamp() {
      const block = await client.getBlock({ blockTag: "latest" });
      return Number(block.timestamp);
    },
  };
}

function privateKey(key: Uint8Array | null): Hex {
  if (!key) throw new Error("no private key derived");
  return `0x${Buffer.from(key).toString("hex")}`;
}

/**
 * Signs with explicit nonces and broadcasts without waiting for receipts, so one payer can have
 * many payments in flight; a queue keeps the broadcasts in nonce order.
 */
function createPayer(client: PublicClient, account: PrivateKeyAccount) {
  let nonce: number | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const sign = async (to: Address, data: Hex) => {
    nonce ??= await client.getTransactionCount({ address: account.address, blockTag: "pending" });
    const raw = await account.signTransaction({
      chainId: EVM_CHAIN_ID,
      type: "eip1559",
      to,
      data,
      nonce: nonce++,
      gas: 100_000n,
      // Far above anvil's base fee (which falls towards zero on empty blocks): never stuck.
      maxFeePerGas: 50_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
    });
    return { raw, hash: keccak256(raw) };
  };
  const send = (to: Address, data: Hex): Promise<Hex> => {
    const run = queue.then(async () => {
      const { raw } = await sign(to, data);
      try {
        return (await client.request({ method: "eth_sendRawTransaction", params: [raw] })) as Hex;
      } catch (error) {
        // The nonce was not used: ask the node again rather than leave a gap.
        nonce = undefined;
        throw error;
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    sign: (to: Address, data: Hex) => {
      const run = queue.then(() => sign(to, data));
      queue = run.catch(() => undefined);
      return run;
    },
    send,
    resetNonce() {
      nonce = undefined;
    },
  };
}
