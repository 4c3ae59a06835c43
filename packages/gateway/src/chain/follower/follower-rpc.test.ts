import { type Address, getAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../testing/cli-process.ts";
import {
  type FollowerRecorder,
  followManualChain,
  recordingLog,
} from "../../testing/follower-recorder.ts";
import {
  type JsonRpcProxy,
  type JsonRpcResponse,
  startJsonRpcProxy,
} from "../../testing/json-rpc-proxy.ts";
import { type ManualChain, startManualChain } from "../../testing/manual-chain.ts";
import { createTestLogger } from "../../testing/test-logger.ts";
import { createBlockFollower } from "./create-block-follower.ts";
import { InvalidFollowerStateError } from "./errors.ts";
import { TRANSFER_EVENT } from "./get-transfer-logs.ts";
import type { BlockRef, CreateBlockFollowerParameters, FollowerEvent } from "./types.ts";

const ALICE: Address = getAddress("0x00000000000000000000000000000000000a11ce");

let m: ManualChain;
const running: FollowerRecorder[] = [];
const proxies: JsonRpcProxy[] = [];

beforeAll(async () => {
  m = await startManualChain();
});
afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await Promise.all(proxies.map((p) => p.close()));
  await m?.stop();
});

const follow = (options: Partial<CreateBlockFollowerParameters>) =>
  followManualChain(m, running, options);

async function proxy(handler?: Parameters<typeof startJsonRpcProxy>[0]["handler"]) {
  const p = await startJsonRpcProxy({ target: m.chain.rpcUrl, ...(handler ? { handler } : {}) });
  proxies.push(p);
  return p;
}

const sawBlock = (n: bigint) => (events: FollowerEvent[]) =>
  events.some((e) => e.type === "block" && e.block.number === n);

describe("block follower RPC handling", () => {
  it("fails over past a closed port, a hanging endpoint and HTTP 500s", async () => {
    const closed = `http://127.0.0.1:${await freePort()}/v2/secret-api-key`;
    const hanging = await proxy(() => new Promise(() => {}));
    const failing = await proxy(async () => ({ httpStatus: 500, body: "upstream down" }));
    const { log, warnings } = recordingLog();
    const start = (await m.head()) + 1n;
    const recorder = follow({
      rpcUrls: [closed, hanging.url, failing.url, m.chain.rpcUrl],
      startBlock: start,
      requestTimeoutMs: 300,
      log,
    });
    const hash = await m.transfer({ to: ALICE, value: 9n });
    await m.mine(3);
    await recorder.waitFor(sawBlock(start + 2n));

    const block = recorder.events.find((e) => e.type === "block" && e.block.number === start);
    expect(block?.type === "block" && block.logs.map((l) => l.txHash)).toEqual([hash]);
    const failedOver = warnings().map((w) => (w.obj as { rpc: string }).rpc);
    expect(new Set(failedOver)).toEqual(
      new Set([`#1 ${new URL(closed).origin}/…`, `#2 ${hanging.url}`, `#3 ${failing.url}`]),
    );
    // RPC URLs often embed an API key; it never reaches a log line.
    expect(JSON.stringify(warnings())).not.toContain("secret-api-key");
    // The cooldown keeps the dead URLs out of the way: they were tried about once each.
    expect(hanging.requests.length).toBeLessThanOrEqual(2);
    expect(failing.requests.length).toBeLessThanOrEqual(2);
  });

  it("comes back to the first URL once it answers again", async () => {
    let down = true;
    const flaky = await proxy(async (_, forward) =>
      down ? { httpStatus: 503, body: "maintenance" } : forward(),
    );
    const { log, entries } = recordingLog();
    const start = (await m.head()) + 1n;
    const recorder = follow({
      rpcUrls: [flaky.url, m.chain.rpcUrl],
      startBlock: start,
      failoverCooldownMs: 100,
      log,
    });
    await m.mine();
    await recorder.waitFor(sawBlock(start));
    down = false;
    const seenWhileDown = flaky.requests.length;
    await m.mine();
    await recorder.waitFor(sawBlock(start + 1n));
    await expect
      .poll(() => entries.map((e) => e.msg), { message: "the recovery log", timeout: 60_000 })
      .toContain("RPC URL answers again");
    await m.mine();
    await recorder.waitFor(sawBlock(start + 2n));
    expect(flaky.requests.length).toBeGreaterThan(seenWhileDown);
  });

  it("splits refused eth_getLogs ranges during backfill and still reports every log once", async () => {
    const refusals: string[] = [];
    // Like a hosted provider: small ranges only, and logs without `blockTimestamp`.
    const limited = await proxy(async (request, forward) => {
      if (request.method !== "eth_getLogs") return forward();
      const filter = request.params?.[0] as { fromBlock?: string; toBlock?: string };
      const width = Number(BigInt(filter.toBlock ?? "0") - BigInt(filter.fromBlock ?? "0")) + 1;
      if (width > 10) {
        refusals.push(`${width}`);
        return refusal(request.id, -32005, "query returned more than 10000 results");
      }
      if (width > 5) {
        refusals.push(`${width}`);
        return refusal(request.id, -32602, "block range too large");
      }
      const answer = await forward();
      for (const l of answer.result as Record<string, unknown>[]) delete l.blockTimestamp;
      return answer;
    });

    const start = (await m.head()) + 1n;
    for (let i = 0; i < 30; i++) {
      if (i % 3 === 0) await m.transfer({ to: ALICE, value: BigInt(1_000 + i) });
      await m.mine();
    }
    const head = await m.head();
    const recorder = follow({
      rpcUrls: [limited.url],
      startBlock: start,
      maxLogRange: 16n,
      backfillThreshold: 4n,
    });
    await recorder.waitFor((events) => events.some((e) => e.type === "backfill" && e.to === head));
    await m.transfer({ to: ALICE, value: 7n });
    await m.mine();
    await recorder.waitFor(sawBlock(head + 1n));

    const backfills = recorder.events.filter(
      (e): e is Extract<FollowerEvent, { type: "backfill" }> => e.type === "backfill",
    );
    expect(refusals.length).toBeGreaterThanOrEqual(2);
    expect(backfills.every((e) => e.to - e.from + 1n <= 5n)).toBe(true);
    // Contiguous from the start block to the head, with each range's last header.
    expect(backfills[0]?.from).toBe(start);
    for (const [i, e] of backfills.entries()) {
      if (i > 0) expect(e.from).toBe((backfills[i - 1]?.to ?? 0n) + 1n);
      expect(e.toBlock).toEqual(await header(e.to));
    }
    const expected = await m.publicClient.getLogs({
      address: m.chain.tokenAddress,
      event: TRANSFER_EVENT,
      fromBlock: start,
      toBlock: head,
    });
    const reported = backfills.flatMap((e) => e.logs);
    expect(reported.map((l) => `${l.txHash}:${l.logIndex}`)).toEqual(
      expected.map((l) => `${l.transactionHash}:${l.logIndex}`),
    );
    expect(reported).toHaveLength(10);
    // Timestamps came from the block headers, since the "provider" left them out.
    for (const l of reported)
      expect(l.blockTimestamp).toBe((await header(l.blockNumber)).timestamp);
    expect(limited.requests.some((r) => r.method === "eth_getBlockByHash")).toBe(true);

    // Following resumes right after the backfilled head, linked by hash.
    const next = recorder.events.find((e) => e.type === "block" && e.block.number === head + 1n);
    expect(next?.type === "block" && next.block.parentHash).toBe(backfills.at(-1)?.toBlock.hash);
    expect(next?.type === "block" && next.logs.map((l) => l.value)).toEqual([7n]);
  });

  it("refuses a restored state that is not a chain", async () => {
    const a = await header(1n);
    const c = await header(3n);
    const follower = createBlockFollower({
      chainKey: "anvil",
      rpcUrls: [m.chain.rpcUrl],
      tokens: [m.chain.tokenAddress],
      confirmations: 3,
      pollingIntervalMs: 20,
      log: createTestLogger(),
      state: { window: [a, c], finalized: undefined },
    });
    await expect(follower.events().next()).rejects.toBeInstanceOf(InvalidFollowerStateError);
  });
});

async function header(blockNumber: bigint): Promise<BlockRef> {
  const b = await m.publicClient.getBlock({ blockNumber });
  return { number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp };
}

function refusal(id: JsonRpcResponse["id"], code: number, message: string): JsonRpcResponse {
  return { jsonrpc: "2.0", id, error: { code, message } };
}
