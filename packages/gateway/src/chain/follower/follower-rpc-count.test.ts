import { connect, createServer, type Server, type Socket } from "node:net";
import type { Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FollowerRecorder,
  followManualChain,
  recordingLog,
} from "../../testing/follower-recorder.ts";
import { type JsonRpcProxy, startJsonRpcProxy } from "../../testing/json-rpc-proxy.ts";
import { type ManualChain, startManualChain } from "../../testing/manual-chain.ts";
import type { CreateBlockFollowerParameters, FollowerEvent } from "./types.ts";

// The RPC cost of following a chain, counted by a real JSON-RPC proxy in front of anvil: each
// call is classified by what it asked and what the node answered, so the counts do not depend
// on timing (how many looks found nothing depends on the machine's speed; what a block costs
// does not).

let m: ManualChain;
const running: FollowerRecorder[] = [];
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  m = await startManualChain();
});
afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await Promise.all(closers.map((c) => c()));
  await m?.stop();
});

type Kind = "latest" | "header found" | "header absent" | "logs" | "other";

const EMPTY_BLOOM = `0x${"00".repeat(256)}`;

/**
 * A proxy that counts the calls by kind; with `emptyBlooms`, a node that does not compute blooms
 * (every header's logsBloom all zeros, whatever the block holds).
 */
async function countingProxy(
  options: { emptyBlooms?: boolean } = {},
): Promise<JsonRpcProxy & { kinds: Kind[] }> {
  const kinds: Kind[] = [];
  const p = await startJsonRpcProxy({
    target: m.chain.rpcUrl,
    handler: async (request, forward) => {
      const answer = await forward();
      const header = answer.result as { logsBloom?: string } | null | undefined;
      if (options.emptyBlooms && request.method === "eth_getBlockByNumber" && header)
        header.logsBloom = EMPTY_BLOOM;
      const [at] = request.params ?? [];
      if (request.method === "eth_getLogs") kinds.push("logs");
      else if (request.method === "eth_getBlockByNumber" && at === "latest") kinds.push("latest");
      else if (request.method === "eth_getBlockByNumber")
        kinds.push(answer.result == null ? "header absent" : "header found");
      else kinds.push("other");
      return answer;
    },
  });
  closers.push(() => p.close());
  return Object.assign(p, { kinds });
}

const follow = (options: Partial<CreateBlockFollowerParameters>) =>
  followManualChain(m, running, options);

const sawBlock = (n: bigint) => (events: FollowerEvent[]) =>
  events.some((e) => e.type === "block" && e.block.number === n);

const count = (kinds: Kind[], kind: Kind) => kinds.filter((k) => k === kind).length;

const ALICE = "0x00000000000000000000000000000000000a11ce";

/** The transaction hashes of the logs yielded for block `n`. */
const logsOf = (events: FollowerEvent[], n: bigint): Hex[] =>
  events.flatMap((e) =>
    e.type === "block" && e.block.number === n ? e.logs.map((l) => l.txHash) : [],
  );

/**
 * A TCP relay in front of anvil's port (which also serves websockets): `drop()` cuts every
 * connection and refuses new ones until `restore()`, as a provider's socket that goes away.
 */
async function socketRelay(target: URL): Promise<{
  url: string;
  drop(): void;
  restore(): void;
}> {
  const sockets = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${address.port}`,
    drop() {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      refusing = false;
    },
  };
}

describe("block follower RPC cost", () => {
  it("polling: each block costs one look that finds its header, and one eth_getLogs when its bloom allows a transfer", async () => {
    const proxy = await countingProxy();
    const start = (await m.head()) + 1n;
    const recorder = follow({ rpcUrls: [proxy.url], startBlock: start });
    await m.mine();
    await recorder.waitFor(sawBlock(start));
    const before = proxy.kinds.length;
    const blocks = 6;
    const paid = new Map<bigint, Hex>();
    for (let k = 1n; k <= BigInt(blocks); k++) {
      // Every other block holds a transfer of the watched token; the rest are empty.
      if (k % 2n === 1n) paid.set(start + k, await m.transfer({ to: ALICE, value: k }));
      await m.mine();
      await recorder.waitFor(sawBlock(start + k));
    }
    const kinds = proxy.kinds.slice(before);
    // Per block: its header once (the look that found it is the head check), and its logs once
    // if the header's logsBloom holds both the token and the Transfer topic: an empty block's
    // bloom proves it holds none, so it is yielded with no logs and no eth_getLogs.
    expect(count(kinds, "logs")).toBe(paid.size);
    // A block found by the full pass every third look that found nothing is read as `latest`
    // (sending the transfer between blocks makes such misses likely), never twice.
    expect(count(kinds, "header found")).toBeLessThanOrEqual(blocks);
    expect(count(kinds, "header found") + count(kinds, "latest")).toBeGreaterThanOrEqual(blocks);
    for (let k = 1n; k <= BigInt(blocks); k++) {
      const hash = paid.get(start + k);
      expect(logsOf(recorder.events, start + k)).toEqual(hash === undefined ? [] : [hash]);
    }
    expect(count(kinds, "other")).toBe(0);
    // Looks that found nothing cost one call each, and only every third one reads `latest`
    // (a fork switch that does not grow the chain shows only there).
    expect(count(kinds, "latest")).toBeLessThanOrEqual(
      Math.floor(count(kinds, "header absent") / 2) + 1,
    );
  });

  it("a transfer of a token that is not watched costs no eth_getLogs; trustLogsBloom false reads every block's logs", async () => {
    const lookAlike = await m.deployLookAlikeToken();
    const proxy = await countingProxy();
    const start = (await m.head()) + 1n;
    const recorder = follow({ rpcUrls: [proxy.url], startBlock: start });
    const unbloomed = follow({ rpcUrls: [proxy.url], startBlock: start, trustLogsBloom: false });
    const seenBy = (r: typeof recorder, n: bigint) => r.waitFor(sawBlock(n));
    await m.mine();
    await Promise.all([seenBy(recorder, start), seenBy(unbloomed, start)]);
    const before = proxy.kinds.length;
    // The look-alike's Transfer sets the topic in the bloom, but not the watched token's address.
    await m.transfer({ token: lookAlike, to: ALICE, value: 5n });
    await m.mine();
    const watched = await m.transfer({ to: ALICE, value: 6n });
    await m.mine();
    await Promise.all([seenBy(recorder, start + 2n), seenBy(unbloomed, start + 2n)]);
    // Two followers, two blocks: the bloom-trusting one reads only the watched transfer's block,
    // the other reads both.
    expect(count(proxy.kinds.slice(before), "logs")).toBe(1 + 2);
    for (const r of [recorder, unbloomed]) {
      expect(logsOf(r.events, start + 1n)).toEqual([]);
      expect(logsOf(r.events, start + 2n)).toEqual([watched]);
    }
  });

  it("a node that sends empty blooms hides no transfer: a block with transactions has its logs read, an empty one costs no call", async () => {
    const proxy = await countingProxy({ emptyBlooms: true });
    const start = (await m.head()) + 1n;
    const recorder = follow({ rpcUrls: [proxy.url], startBlock: start });
    await m.mine();
    await recorder.waitFor(sawBlock(start));
    const before = proxy.kinds.length;
    const paid = await m.transfer({ to: ALICE, value: 7n });
    await m.mine();
    await m.mine();
    await recorder.waitFor(sawBlock(start + 2n));
    expect(logsOf(recorder.events, start + 1n)).toEqual([paid]);
    expect(logsOf(recorder.events, start + 2n)).toEqual([]);
    // The paid block's empty bloom proves nothing; the empty block has no transaction at all.
    expect(count(proxy.kinds.slice(before), "logs")).toBe(1);
  });

  it("websocket: a block costs one eth_getLogs, none when its pushed header's bloom rules a transfer out; a dropped socket falls back to polling and comes back", async () => {
    const proxy = await countingProxy();
    const relay = await socketRelay(new URL(m.chain.rpcUrl));
    const { log, entries } = recordingLog();
    const subscribed = () => entries.filter((e) => e.msg.startsWith("following new heads")).length;
    const start = (await m.head()) + 1n;
    const recorder = follow({
      rpcUrls: [proxy.url],
      wsUrl: relay.url,
      startBlock: start,
      // Long enough that no safety look happens while the socket is up.
      pollingIntervalMs: 30_000,
      log,
    });
    await expect.poll(subscribed, { timeout: 30_000 }).toBe(1);
    await m.mine();
    await recorder.waitFor(sawBlock(start));
    const before = proxy.kinds.length;
    const blocks = 5;
    const paid: Hex[] = [];
    for (let k = 1n; k <= BigInt(blocks); k++) {
      if (k % 2n === 1n) paid.push(await m.transfer({ to: ALICE, value: k }));
      await m.mine();
      await recorder.waitFor(sawBlock(start + k));
    }
    expect(proxy.kinds.slice(before)).toEqual(Array(paid.length).fill("logs"));
    expect(
      recorder.events.flatMap((e) => (e.type === "block" ? e.logs : [])).map((l) => l.txHash),
    ).toEqual(paid);

    // The socket goes away: blocks are still followed, by polling.
    relay.drop();
    await expect
      .poll(() => entries.filter((e) => e.msg.startsWith("newHeads subscription lost")).length, {
        timeout: 30_000,
      })
      .toBeGreaterThan(0);
    const droppedAt = proxy.kinds.length;
    await m.transfer({ to: ALICE, value: 10n });
    await m.mine();
    await recorder.waitFor(sawBlock(start + BigInt(blocks) + 1n));
    const polled = proxy.kinds.slice(droppedAt);
    expect(count(polled, "logs")).toBe(1);
    expect(polled.filter((k) => k !== "logs").length).toBeGreaterThan(0);

    // Back: subscribed again on a new socket. The first block after may still meet a look
    // scheduled while polling; from the next one on, a block costs one call again.
    relay.restore();
    await expect.poll(subscribed, { timeout: 60_000 }).toBe(2);
    await m.mine();
    await recorder.waitFor(sawBlock(start + BigInt(blocks) + 2n));
    const backAt = proxy.kinds.length;
    await m.transfer({ to: ALICE, value: 11n });
    await m.mine();
    await recorder.waitFor(sawBlock(start + BigInt(blocks) + 3n));
    expect(proxy.kinds.slice(backAt)).toEqual(["logs"]);
  });
});
