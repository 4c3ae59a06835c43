import { type Address, getAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  describeEvents,
  type FollowerRecorder,
  recordFollower,
} from "../../testing/follower-recorder.ts";
import { type ManualChain, startManualChain } from "../../testing/manual-chain.ts";
import { createTestLogger } from "../../testing/test-logger.ts";
import { createBlockFollower } from "./create-block-follower.ts";
import { TRANSFER_EVENT } from "./get-transfer-logs.ts";
import type {
  CreateBlockFollowerParameters,
  FollowerEvent,
  FollowerState,
  TransferLog,
} from "./types.ts";

const ALICE: Address = getAddress("0x00000000000000000000000000000000000a11ce");
const BOB: Address = getAddress("0x0000000000000000000000000000000000000b0b");
const CAROL: Address = getAddress("0x00000000000000000000000000000000000ca401");

let m: ManualChain;
const running: FollowerRecorder[] = [];

beforeAll(async () => {
  m = await startManualChain();
});
afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await m?.stop();
});

function follow(
  options: Partial<CreateBlockFollowerParameters> & { state?: FollowerState },
): FollowerRecorder {
  const state = options.state ?? { window: [], finalized: undefined };
  const follower = createBlockFollower({
    chainKey: "anvil",
    rpcUrls: [m.chain.rpcUrl],
    tokens: [m.chain.tokenAddress],
    confirmations: 3,
    pollingIntervalMs: 20,
    log: createTestLogger(),
    ...options,
    state,
  });
  const recorder = recordFollower(follower, state);
  running.push(recorder);
  return recorder;
}

const blockEvents = (events: FollowerEvent[]) =>
  events.filter((e): e is Extract<FollowerEvent, { type: "block" }> => e.type === "block");
const sawBlock = (n: bigint) => (events: FollowerEvent[]) =>
  blockEvents(events).some((e) => e.block.number === n);
const sawFinalize = (n: bigint) => (events: FollowerEvent[]) =>
  events.some((e) => e.type === "finalize" && e.block.number === n);
const sequence = (events: FollowerEvent[]) =>
  events.map((e) =>
    e.type === "block" || e.type === "finalize" ? `${e.type} ${e.block.number}` : e.type,
  );

/** The chain's own answer: every Transfer of the test USDT in [from, to], as the follower shapes it. */
async function truth(from: bigint, to: bigint): Promise<string[]> {
  const logs = await m.publicClient.getLogs({
    address: m.chain.tokenAddress,
    event: TRANSFER_EVENT,
    fromBlock: from,
    toBlock: to,
  });
  return logs.map((l) => `${l.blockNumber}:${l.transactionHash}:${l.logIndex}:${l.args.value}`);
}
const key = (l: TransferLog) => `${l.blockNumber}:${l.txHash}:${l.logIndex}:${l.value}`;

describe("block follower on anvil", () => {
  it("yields blocks in order with only the watched token's transfers, several per transaction", async () => {
    const lookAlike = await m.deployLookAlikeToken();
    const start = (await m.head()) + 1n;
    const recorder = follow({ startBlock: start });

    await m.mine(); // start: empty
    await m.transfer({ to: ALICE, value: 5_000_000n });
    await m.transfer({ token: lookAlike, to: ALICE, value: 6_000_000n });
    await m.mine(); // start + 1: a real and a look-alike transfer
    const multi = await m.multiTransfer(m.chain.tokenAddress, [
      { to: BOB, value: 1_000_000n },
      { to: CAROL, value: 0n },
    ]);
    await m.mine(); // start + 2: funding transfer, then one transaction with two transfers
    await m.mine(); // start + 3: empty
    await recorder.waitFor(sawBlock(start + 3n));

    const blocks = blockEvents(recorder.events);
    expect(blocks.map((e) => e.block.number)).toEqual([start, start + 1n, start + 2n, start + 3n]);
    for (const [i, e] of blocks.entries()) {
      const header = await m.publicClient.getBlock({ blockNumber: e.block.number });
      expect(e.block).toEqual({
        number: header.number,
        hash: header.hash,
        parentHash: header.parentHash,
        timestamp: header.timestamp,
      });
      if (i > 0) expect(e.block.parentHash).toBe(blocks[i - 1]?.block.hash);
      for (const l of e.logs) {
        expect(l.blockHash).toBe(e.block.hash);
        expect(l.blockTimestamp).toBe(e.block.timestamp);
        expect(l.token).toBe(m.chain.tokenAddress);
      }
    }

    expect(blocks[0]?.logs).toEqual([]);
    expect(blocks[3]?.logs).toEqual([]);
    // The look-alike's transfer to ALICE is in the same block but never reported.
    expect(blocks[1]?.logs.map((l) => [l.to, l.value])).toEqual([[ALICE, 5_000_000n]]);
    const inMulti = blocks[2]?.logs.filter((l) => l.txHash === multi) ?? [];
    expect(inMulti.map((l) => [l.to, l.value])).toEqual([
      [BOB, 1_000_000n],
      [CAROL, 0n], // zero-value transfers are reported; the consumer ignores them
    ]);
    expect(new Set(inMulti.map((l) => l.logIndex)).size).toBe(2);
    expect(blocks.flatMap((e) => e.logs).map(key)).toEqual(await truth(start, start + 3n));
  });

  it("finalises at tip − N + 1: every block at once with 1 confirmation, two blocks later with 3", async () => {
    const start = (await m.head()) + 1n;
    const one = follow({ startBlock: start, confirmations: 1 });
    const three = follow({ startBlock: start, confirmations: 3 });
    for (let i = 0; i < 5; i++) {
      await m.transfer({ to: ALICE, value: BigInt(i + 1) });
      await m.mine();
    }
    const n = (k: number) => start + BigInt(k);
    await one.waitFor(sawFinalize(n(4)));
    await three.waitFor(sawFinalize(n(2)));

    expect(sequence(one.events)).toEqual(
      [0, 1, 2, 3, 4].flatMap((k) => [`block ${n(k)}`, `finalize ${n(k)}`]),
    );
    expect(sequence(three.events)).toEqual([
      `block ${n(0)}`,
      `block ${n(1)}`,
      `block ${n(2)}`,
      `finalize ${n(0)}`,
      `block ${n(3)}`,
      `finalize ${n(1)}`,
      `block ${n(4)}`,
      `finalize ${n(2)}`,
    ]);
    expect(three.state().window.map((b) => b.number)).toEqual([n(3), n(4)]);
    expect(three.state().finalized?.number).toBe(n(2));
    expect(one.state()).toEqual({ window: [], finalized: blockEvents(one.events).at(-1)?.block });
  });

  it("finalises with the node's safe block once it has processed that very block", async () => {
    const start = (await m.head()) + 1n;
    const recorder = follow({ startBlock: start, confirmations: "safe" });
    // Anvil's safe block trails the head by 32.
    await m.mine(40);
    await recorder.waitFor(sawBlock(start + 39n));
    const safe = await m.publicClient.getBlock({ blockTag: "safe" });
    expect(safe.number).toBe(start + 7n);
    // However the 40 blocks were split across polls, finality only moves up, and it ends at the
    // node's safe block, reported with that block's own hash.
    await recorder.waitFor(sawFinalize(safe.number));
    const finalizes = recorder.events.flatMap((e) => (e.type === "finalize" ? [e.block] : []));
    expect(finalizes.at(-1)).toMatchObject({ number: safe.number, hash: safe.hash });
    const numbers = finalizes.map((b) => b.number);
    expect(numbers).toEqual([...numbers].sort((a, b) => (a < b ? -1 : 1)));
    expect(recorder.state().window[0]?.number).toBe(safe.number + 1n);

    await m.mine();
    await recorder.waitFor(sawFinalize(safe.number + 1n));
  });

  it("resumes from the state rebuilt from its events: no gap, no duplicate, backfill after a long stop", async () => {
    const start = (await m.head()) + 1n;
    const options = { startBlock: start, confirmations: 2, backfillThreshold: 4n };
    const transferAndMine = async (blocks: number) => {
      for (let i = 0; i < blocks; i++) {
        if (i % 2 === 0) await m.transfer({ to: BOB, value: BigInt(100 + i) });
        await m.mine();
      }
    };

    // Run 1: a few blocks, then stop.
    const first = follow(options);
    await transferAndMine(3);
    await first.waitFor(sawBlock(start + 2n));
    await first.stop();
    const afterFirst = first.state();
    expect(afterFirst.window.length).toBeGreaterThan(0);

    // Down for two blocks (below the backfill threshold): resumed block by block.
    await transferAndMine(2);
    const second = follow({ ...options, state: afterFirst });
    await second.waitFor(sawBlock(start + 4n));
    await second.stop();
    expect(second.events.some((e) => e.type === "backfill")).toBe(false);

    // Down for ten blocks: the final part comes as backfill, the rest block by block.
    await transferAndMine(10);
    const head = await m.head();
    const third = follow({ ...options, state: second.state() });
    await third.waitFor(sawBlock(head));
    await third.stop();
    expect(third.events.some((e) => e.type === "backfill")).toBe(true);

    const all = [...first.events, ...second.events, ...third.events];
    // Every block from start to head is covered exactly once, in order.
    const covered: bigint[] = [];
    const logs: TransferLog[] = [];
    for (const e of all) {
      if (e.type === "block") {
        covered.push(e.block.number);
        logs.push(...e.logs);
      } else if (e.type === "backfill") {
        for (let b = e.from; b <= e.to; b++) covered.push(b);
        logs.push(...e.logs);
      } else if (e.type === "reorg") {
        throw new Error(`unexpected reorg:\n${describeEvents(all)}`);
      }
    }
    const expected = Array.from({ length: Number(head - start + 1n) }, (_, i) => start + BigInt(i));
    expect(covered).toEqual(expected);
    expect(logs.map(key)).toEqual(await truth(start, head));
    // The backfill continues exactly where the restored state ended, and blocks follow it.
    const backfills = third.events.filter((e) => e.type === "backfill");
    const lastBackfill = backfills.at(-1);
    const nextBlock = blockEvents(third.events).find(
      (e) => e.block.number === (lastBackfill?.to ?? 0n) + 1n,
    );
    if (nextBlock) expect(nextBlock.block.parentHash).toBe(lastBackfill?.toBlock.hash);
  });

  it("ends its generator promptly when aborted, even mid-wait", async () => {
    const recorder = follow({ pollingIntervalMs: 60_000 });
    await recorder.waitFor((events) => events.length > 0);
    const before = Date.now();
    await recorder.stop();
    expect(Date.now() - before).toBeLessThan(1_000);
    // With no start block the first block processed is the head at start.
    expect(recorder.events[0]).toMatchObject({ type: "block" });
  });
});
