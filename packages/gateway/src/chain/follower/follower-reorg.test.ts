import { type Address, getAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  describeEvents,
  type FollowerRecorder,
  recordFollower,
  recordingLog,
} from "../../testing/follower-recorder.ts";
import { type ManualChain, startManualChain } from "../../testing/manual-chain.ts";
import { createTestLogger } from "../../testing/test-logger.ts";
import { createBlockFollower } from "./create-block-follower.ts";
import type { BlockRef, CreateBlockFollowerParameters, FollowerEvent } from "./types.ts";

const ALICE: Address = getAddress("0x00000000000000000000000000000000000a11ce");
const BOB: Address = getAddress("0x0000000000000000000000000000000000000b0b");
const CAROL: Address = getAddress("0x00000000000000000000000000000000000ca401");
const DAVE: Address = getAddress("0x00000000000000000000000000000000000da4e0");

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
  options: Partial<CreateBlockFollowerParameters>,
): FollowerRecorder & { follower: ReturnType<typeof createBlockFollower> } {
  const state = { window: [], finalized: undefined };
  const follower = createBlockFollower({
    chainKey: "anvil",
    rpcUrls: [m.chain.rpcUrl],
    tokens: [m.chain.tokenAddress],
    confirmations: 4,
    pollingIntervalMs: 20,
    log: createTestLogger(),
    ...options,
    state,
  });
  const recorder = recordFollower(follower, state);
  running.push(recorder);
  return Object.assign(recorder, { follower });
}

async function header(blockNumber: bigint): Promise<BlockRef> {
  const b = await m.publicClient.getBlock({ blockNumber });
  return { number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp };
}

const blockEvent = (events: FollowerEvent[], hash: string) =>
  events.find((e) => e.type === "block" && e.block.hash === hash) as
    | Extract<FollowerEvent, { type: "block" }>
    | undefined;
const sawHash = (hash: string) => (events: FollowerEvent[]) =>
  blockEvent(events, hash) !== undefined;

describe("block follower across reorgs", () => {
  it("reports the common ancestor and the dropped blocks, then the new chain with re-included transfers", async () => {
    const start = (await m.head()) + 1n;
    const recorder = follow({ startBlock: start });

    const toAlice = await m.signTransfer({ to: ALICE, value: 1n });
    await m.sendRaw(toAlice);
    await m.mine(); // start
    const toBob = await m.signTransfer({ to: BOB, value: 2n });
    const toBobHash = await m.sendRaw(toBob);
    await m.mine(); // start + 1
    const toCarol = await m.signTransfer({ to: CAROL, value: 3n });
    const toCarolHash = await m.sendRaw(toCarol);
    await m.mine(); // start + 2
    const old = await Promise.all([0n, 1n, 2n].map((k) => header(start + k)));
    await recorder.waitFor(sawHash(old[2]?.hash as string));
    const before = recorder.events.length;

    // Replace start+1 and start+2 at the same height. The transfer to BOB is included again, one
    // block later than before; the one to CAROL (the payer's next nonce) is dropped for good.
    await m.reorg(2, [[toBob, 1]]);
    const replaced = await Promise.all([1n, 2n].map((k) => header(start + k)));
    await recorder.waitFor(sawHash(replaced[1]?.hash as string));

    const after = recorder.events.slice(before);
    expect(after.map((e) => e.type)).toEqual(["reorg", "block", "block"]);
    expect(after[0]).toEqual({ type: "reorg", commonAncestor: old[0], dropped: [old[1], old[2]] });
    const [newFirst, newSecond] = [
      blockEvent(after, replaced[0]?.hash as string),
      blockEvent(after, replaced[1]?.hash as string),
    ];
    expect(newFirst?.block).toEqual(replaced[0]);
    expect(newFirst?.logs).toEqual([]);
    expect(newSecond?.logs.map((l) => [l.txHash, l.to, l.blockNumber, l.blockHash])).toEqual([
      [toBobHash, BOB, start + 2n, replaced[1]?.hash],
    ]);
    const reported = after.flatMap((e) => (e.type === "block" ? e.logs : []));
    expect(reported.map((l) => l.txHash)).not.toContain(toCarolHash);

    // A rollback followed by a different, longer chain is a reorg too.
    const beforeRollback = recorder.events.length;
    await m.rollback(1);
    await m.transfer({ to: DAVE, value: 4n });
    await m.mine(2);
    const rebuilt = await Promise.all([2n, 3n].map((k) => header(start + k)));
    await recorder.waitFor((events) => events.at(-1)?.type === "finalize");
    const afterRollback = recorder.events.slice(beforeRollback);
    expect(afterRollback.map((e) => e.type)).toEqual(["reorg", "block", "block", "finalize"]);
    expect(afterRollback[0]).toEqual({
      type: "reorg",
      commonAncestor: replaced[0],
      dropped: [replaced[1]],
    });
    expect(blockEvent(afterRollback, rebuilt[0]?.hash as string)?.logs.map((l) => l.to)).toEqual([
      DAVE,
    ]);
    // Four confirmations: start is final once start + 3 is processed, with its original hash.
    expect(afterRollback[3]).toEqual({ type: "finalize", block: old[0] });
    expect(recorder.follower.getState()).toEqual(recorder.state());
    expect(recorder.state().window.map((b) => b.hash)).toEqual([
      replaced[0]?.hash,
      rebuilt[0]?.hash,
      rebuilt[1]?.hash,
    ]);
  });

  it("finds the ancestor below the first block it processed", async () => {
    const parent = await header(await m.head());
    const start = parent.number + 1n;
    const recorder = follow({ startBlock: start, confirmations: 10 });
    await m.mine(2);
    const old = await Promise.all([0n, 1n].map((k) => header(start + k)));
    await recorder.waitFor(sawHash(old[1]?.hash as string));

    await m.reorg(2);
    await m.mine();
    const head = await header(start + 2n);
    await recorder.waitFor(sawHash(head.hash));
    const reorg = recorder.events.find((e) => e.type === "reorg");
    expect(reorg).toEqual({ type: "reorg", commonAncestor: parent, dropped: old });
    // With nothing final yet, the ancestor becomes the anchor a restart resumes from.
    expect(recorder.state().finalized).toEqual(parent);
    expect(recorder.state().window.map((b) => b.number)).toEqual([start, start + 1n, start + 2n]);
  });

  it("recovers from a reorg below the last finalised block: drops the final blocks down to the highest known canonical one, says so at error level, and reads the new chain", async () => {
    const parent = await header(await m.head());
    const start = parent.number + 1n;
    const { log, errors } = recordingLog();
    const asked: bigint[][] = [];
    const recorder = follow({
      startBlock: start,
      confirmations: 2,
      log,
      // What the consumer stored: the parent, and a block of another fork that must be skipped.
      knownBlocks: async (from, to) => {
        asked.push([from, to]);
        return [parent, { number: start, hash: `0x${"11".repeat(32)}` }];
      },
    });
    const toAlice = await m.transfer({ to: ALICE, value: 1n });
    await m.mine(3);
    const tip = await header(start + 2n);
    await recorder.waitFor(sawHash(tip.hash));
    await recorder.waitFor((events) => events.at(-1)?.type === "finalize");
    const finalized = recorder.state().finalized;
    expect(finalized?.number).toBe(start + 1n);
    const seen = recorder.events.length;

    await m.reorg(3); // replaces start .. start+2, below the finalised start+1; the payment is gone
    const toBob = await m.transfer({ to: BOB, value: 2n });
    await m.mine(2);
    const newTip = await header(start + 4n);
    await recorder.waitFor(sawHash(newTip.hash));

    const after = recorder.events.slice(seen);
    expect(after[0], describeEvents(after)).toEqual({
      type: "reorg",
      commonAncestor: parent,
      dropped: [finalized, tip],
      deep: true,
    });
    expect(asked).toEqual([[start + 1n > 256n ? start + 1n - 256n : 0n, start + 1n]]);
    const logs = after.flatMap((e) => (e.type === "block" ? e.logs : []));
    expect(logs.map((l) => [l.txHash, l.to])).toEqual([[toBob, BOB]]);
    expect(logs.map((l) => l.txHash)).not.toContain(toAlice);
    expect(errors()).toEqual([
      expect.objectContaining({
        msg: expect.stringMatching(/reorg deeper than the finalised block/),
        obj: expect.objectContaining({ lostBlock: start + 1n, commonAncestor: parent.number }),
      }),
    ]);
    // The follower goes on: the new chain is finalised as it grows.
    await recorder.waitFor((events) => events.at(-1)?.type === "finalize");
    expect(recorder.state().finalized?.hash).toBe((await header(start + 3n)).hash);
  });

  it("without a known canonical block, reads again from deepReorgRescanBlocks below the lost block", async () => {
    const start = (await m.head()) + 1n;
    const recorder = follow({ startBlock: start, confirmations: 1, deepReorgRescanBlocks: 2n });
    await m.mine(3);
    await recorder.waitFor((events) =>
      events.some((e) => e.type === "finalize" && e.block.number === start + 2n),
    );
    const seen = recorder.events.length;
    const kept = await header(start);

    await m.reorg(2);
    const toCarol = await m.transfer({ to: CAROL, value: 3n });
    await m.mine();
    const newTip = await header(start + 3n);
    await recorder.waitFor(sawHash(newTip.hash));
    const after = recorder.events.slice(seen);
    // start+2 was lost; two below it is start, still canonical (the reorg replaced start+1 up).
    expect(after[0]).toMatchObject({ type: "reorg", commonAncestor: kept, deep: true });
    expect(after.flatMap((e) => (e.type === "block" ? e.logs : [])).map((l) => l.txHash)).toEqual([
      toCarol,
    ]);
  });
});
