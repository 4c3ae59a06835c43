import {
  type Account,
  createPublicClient,
  encodeFunctionData,
  erc20Abi,
  type Hex,
  http,
  parseEther,
  parseUnits,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../testing/cli-process.ts";
import { type JsonRpcProxy, startJsonRpcProxy } from "../../testing/json-rpc-proxy.ts";
import { type ManualChain, startManualChain } from "../../testing/manual-chain.ts";
import { classifyTxError } from "./classify-error.ts";

// The errors are the ones viem really throws: from anvil, or from a JSON-RPC endpoint answering
// with another node's wording, through viem's own HTTP transport.

let m: ManualChain;
let proxy: JsonRpcProxy;
/** What the proxy answers to eth_sendRawTransaction: another node's error message. */
let nodeAnswer = { code: -32000, message: "" };
let release: () => void = () => {};

beforeAll(async () => {
  m = await startManualChain();
  proxy = await startJsonRpcProxy({
    target: m.chain.rpcUrl,
    handler: async (request, forward) => {
      if (request.method === "eth_blockNumber") {
        // Held until the test is done with it: the client's timeout fires first.
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      }
      if (request.method !== "eth_sendRawTransaction") return forward();
      return { jsonrpc: "2.0" as const, id: request.id, error: nodeAnswer };
    },
  });
});

afterAll(async () => {
  release();
  await proxy?.close();
  await m?.stop();
});

async function funded(): Promise<Account> {
  const account = privateKeyToAccount(generatePrivateKey());
  await m.publicClient.request({
    method: "anvil_setBalance",
    params: [account.address, `0x${parseEther("10").toString(16)}`],
  } as never);
  return account;
}

async function signed(account: Account, overrides: Record<string, unknown> = {}): Promise<Hex> {
  const fees = await m.publicClient.estimateFeesPerGas();
  if (!account.signTransaction) throw new Error("a local account signs");
  return account.signTransaction({
    chainId: anvil.id,
    type: "eip1559",
    to: account.address,
    value: 0n,
    gas: 21_000n,
    nonce: 0,
    maxFeePerGas: fees.maxFeePerGas,
    maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    ...overrides,
  });
}

async function thrown(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

const send = (raw: Hex, client = m.publicClient) =>
  thrown(() => client.sendRawTransaction({ serializedTransaction: raw }));

describe("classifyTxError with anvil's answers", () => {
  it("a transaction the node already has, and a nonce already mined, are nonce_too_low", async () => {
    const account = await funded();
    const raw = await signed(account);
    await m.sendRaw(raw);
    expect(classifyTxError(await send(raw)).kind).toBe("nonce_too_low");
    await m.mine();
    expect(classifyTxError(await send(raw)).kind).toBe("nonce_too_low");
    const other = await signed(account, { value: 1n });
    expect(classifyTxError(await send(other))).toMatchObject({
      kind: "nonce_too_low",
      message: expect.stringContaining("nonce too low"),
    });
  });

  it("a replacement without the fee bump, or a fee cap under the base fee, is underpriced", async () => {
    const account = await funded();
    await m.sendRaw(await signed(account));
    // anvil's "replacement transaction underpriced" has no typed error in viem.
    expect(classifyTxError(await send(await signed(account, { value: 1n }))).kind).toBe(
      "underpriced",
    );
    const tooCheap = await signed(account, {
      nonce: 1,
      maxFeePerGas: 1n,
      maxPriorityFeePerGas: 1n,
    });
    expect(classifyTxError(await send(tooCheap)).kind).toBe("underpriced");
  });

  it("a sender that cannot pay value + gas is insufficient_funds", async () => {
    const account = await funded();
    const raw = await signed(account, { value: parseEther("11") });
    expect(classifyTxError(await send(raw))).toMatchObject({
      kind: "insufficient_funds",
      message: expect.stringMatching(/insufficient funds/i),
    });
  });

  it("a call that reverts at estimation is reverted", async () => {
    const poor = privateKeyToAccount(generatePrivateKey());
    const err = await thrown(() =>
      m.publicClient.estimateGas({
        account: poor.address,
        to: m.chain.tokenAddress,
        data: encodeFunctionData({
          abi: erc20Abi,
          functionName: "transfer",
          args: [poor.address, parseUnits("5", 6)],
        }),
      }),
    );
    expect(classifyTxError(err).kind).toBe("reverted");
  });

  it("an answer with no category of its own (intrinsic gas too low) is rpc", async () => {
    const account = await funded();
    const err = await send(await signed(account, { gas: 20_000n }));
    expect(classifyTxError(err)).toMatchObject({
      kind: "rpc",
      message: expect.stringContaining("intrinsic gas too low"),
    });
  });
});

describe("classifyTxError with other nodes' wordings", () => {
  const cases = [
    ["transaction underpriced", "underpriced"],
    ["replacement transaction underpriced", "underpriced"],
    ["FeeTooLow, MaxFeePerGas too low", "underpriced"],
    ["already known", "nonce_too_low"],
    ["known transaction: 0xabc", "nonce_too_low"],
    ["nonce too low: next nonce 5, tx nonce 4", "nonce_too_low"],
    ["insufficient funds for gas * price + value: balance 0", "insufficient_funds"],
    ["max fee per gas less than block base fee", "underpriced"],
    ["nonce too high", "rpc"],
    ["header not found", "rpc"],
  ] as const;
  for (const [message, kind] of cases) {
    it(`"${message}" is ${kind}`, async () => {
      nodeAnswer = { code: -32000, message };
      const client = createPublicClient({ transport: http(proxy.url, { retryCount: 0 }) });
      const account = await funded();
      expect(classifyTxError(await send(await signed(account), client)).kind).toBe(kind);
    });
  }
});

describe("classifyTxError without an answer", () => {
  it("a node that cannot be reached is rpc", async () => {
    const client = createPublicClient({
      transport: http(`http://127.0.0.1:${await freePort()}`, { retryCount: 0 }),
    });
    const err = await thrown(() => client.getBlockNumber());
    expect(err).toMatchObject({ name: "HttpRequestError" });
    expect(classifyTxError(err).kind).toBe("rpc");
  });

  it("a node that does not answer in time is rpc", async () => {
    const client = createPublicClient({
      transport: http(proxy.url, { retryCount: 0, timeout: 100 }),
    });
    const err = await thrown(() => client.getBlockNumber());
    release();
    expect(err).toMatchObject({ name: "TimeoutError" });
    expect(classifyTxError(err).kind).toBe("rpc");
  });

  it("something that is not a viem error is rpc, with its message", () => {
    expect(classifyTxError(new Error("socket hang up"))).toEqual({
      kind: "rpc",
      message: "socket hang up",
    });
  });
});
