import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  erc20Abi,
  getAddress,
  parseEventLogs,
  parseUnits,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../testing/cli-process.ts";
import { createTestLogger } from "../testing/test-logger.ts";
import { testTransport } from "../testing/test-transport.ts";
import { type LocalChain, startLocalChain } from "./local-chain.ts";

// Fast interval mining keeps each deploy/mint/transfer round trip well under a second.
const BLOCK_TIME = 0.2;
const RECIPIENT: Address = "0x000000000000000000000000000000000000dEaD";

function clients(chain: LocalChain) {
  const transport = testTransport(chain.rpcUrl);
  return {
    publicClient: createPublicClient({ chain: anvil, transport, pollingInterval: 50 }),
    payerWallet: createWalletClient({
      account: privateKeyToAccount(chain.payerPrivateKey),
      chain: anvil,
      transport,
      pollingInterval: 50,
    }),
  };
}

async function balanceOf(chain: LocalChain, owner: Address): Promise<bigint> {
  return clients(chain).publicClient.readContract({
    address: chain.tokenAddress,
    abi: erc20Abi,
    functionName: "balanceOf",
    args: [owner],
  });
}

async function payerTransfer(chain: LocalChain, to: Address, amount: bigint) {
  const { publicClient, payerWallet } = clients(chain);
  const hash = await payerWallet.writeContract({
    address: chain.tokenAddress,
    abi: erc20Abi,
    functionName: "transfer",
    args: [to, amount],
  });
  return publicClient.waitForTransactionReceipt({ hash });
}

function recordingLog() {
  const warnings: string[] = [];
  return {
    warnings,
    log: { info() {}, warn: (_: object, msg?: string) => warnings.push(msg ?? "") },
  };
}

describe("ephemeral local chain", () => {
  let chain: LocalChain;

  beforeAll(async () => {
    chain = await startLocalChain({
      port: await freePort(),
      blockTimeSeconds: BLOCK_TIME,
      log: createTestLogger(),
    });
  });
  afterAll(async () => {
    await chain?.stop();
  });

  it("deploys a 6-decimal USDT and gives the payer 1,000,000 of it plus gas money", async () => {
    const { publicClient } = clients(chain);
    expect(await publicClient.getChainId()).toBe(chain.evmChainId);
    expect(chain.evmChainId).toBe(31337);
    const read = { address: chain.tokenAddress, abi: erc20Abi } as const;
    expect(await publicClient.readContract({ ...read, functionName: "symbol" })).toBe("USDT");
    expect(await publicClient.readContract({ ...read, functionName: "decimals" })).toBe(6);
    expect(chain.tokenSymbol).toBe("USDT");
    expect(chain.tokenDecimals).toBe(6);
    expect(await balanceOf(chain, chain.payerAddress)).toBe(parseUnits("1000000", 6));
    expect(await publicClient.getBalance({ address: chain.payerAddress })).toBeGreaterThanOrEqual(
      10n ** 19n,
    );
  });

  it("lets the payer's key send USDT, emitting a Transfer log", async () => {
    const amount = parseUnits("12.5", 6);
    const receipt = await payerTransfer(chain, RECIPIENT, amount);
    expect(receipt.status).toBe("success");
    const transfers = parseEventLogs({ abi: erc20Abi, eventName: "Transfer", logs: receipt.logs });
    expect(transfers).toHaveLength(1);
    expect(getAddress(transfers[0]?.address ?? "0x")).toBe(chain.tokenAddress);
    expect(transfers[0]?.args).toEqual({ from: chain.payerAddress, to: RECIPIENT, value: amount });
    expect(await balanceOf(chain, RECIPIENT)).toBe(amount);
  });

  it("refuses a port that is already taken instead of talking to another server", async () => {
    const takenPort = Number(new URL(chain.rpcUrl).port);
    await expect(startLocalChain({ port: takenPort, log: createTestLogger() })).rejects.toThrow(
      /already in use/,
    );
  });
});

describe("local chain under another chain's id", () => {
  let chain: LocalChain | undefined;
  afterAll(async () => {
    await chain?.stop();
  });

  it("reports that id, and deploys and tops up with transactions signed for it", async () => {
    // What `npm run chaos` does: anvil standing in for Arbitrum (42161), whose id the gateway's
    // transaction manager signs with.
    chain = await startLocalChain({
      port: await freePort(),
      blockTimeSeconds: BLOCK_TIME,
      evmChainId: 42161,
      log: createTestLogger(),
    });
    expect(chain.evmChainId).toBe(42161);
    const publicClient = createPublicClient({ transport: testTransport(chain.rpcUrl) });
    expect(await publicClient.getChainId()).toBe(42161);
    const added = await chain.topUp(RECIPIENT, { token: parseUnits("10", 6), eth: 1n });
    expect(added.token).toBe(parseUnits("10", 6));
    expect(await balanceOf(chain, RECIPIENT)).toBe(parseUnits("10", 6));
  });
});

describe("local chain with a data directory", () => {
  let dataDir: string;
  let chain: LocalChain | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "stablegate-local-chain-"));
  });
  afterEach(async () => {
    await chain?.stop();
    chain = undefined;
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("keeps the token and balances across a restart", async () => {
    const port = await freePort();
    const first = recordingLog();
    chain = await startLocalChain({ dataDir, port, blockTimeSeconds: BLOCK_TIME, log: first.log });
    const tokenAddress = chain.tokenAddress;
    const sent = parseUnits("250", 6);
    await payerTransfer(chain, RECIPIENT, sent);
    await chain.stop();

    // Same port: also proves stop() really ended the first anvil.
    const second = recordingLog();
    chain = await startLocalChain({ dataDir, port, blockTimeSeconds: BLOCK_TIME, log: second.log });
    expect(chain.tokenAddress).toBe(tokenAddress);
    expect(await balanceOf(chain, RECIPIENT)).toBe(sent);
    expect(await balanceOf(chain, chain.payerAddress)).toBe(parseUnits("1000000", 6) - sent);
    expect(second.warnings).toEqual([]);
    const saved = JSON.parse(await readFile(join(dataDir, "local-chain.json"), "utf8"));
    expect(saved).toEqual({ tokenAddress, evmChainId: 31337 });
  });

  it("redeploys and warns when the chain state was lost", async () => {
    await rm(join(dataDir, "anvil-state.json"));
    const { warnings, log } = recordingLog();
    chain = await startLocalChain({
      dataDir,
      port: await freePort(),
      blockTimeSeconds: BLOCK_TIME,
      log,
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/state was lost/);
    expect(await balanceOf(chain, RECIPIENT)).toBe(0n);
    expect(await balanceOf(chain, chain.payerAddress)).toBe(parseUnits("1000000", 6));
  });
});
