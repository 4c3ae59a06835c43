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

  it("refuses to continue past a reorg below the last finalised block, and says so", async () => {
    const start = (await m.head()) + 1n;
    const { log, warnings } = recordingLog();
    const recorder = follow({ startBlock: start, confirmations: 2, log, maxRetryDelayMs: 50 });
    await m.mine(3);
    const tip = await header(start + 2n);
    await recorder.waitFor(sawHash(tip.hash));
    await recorder.waitFor((events) => events.at(-1)?.type === "finalize");
    expect(recorder.state().finalized?.number).toBe(start + 1n);
    const seen = recorder.events.length;

    await m.reorg(3); // replaces start .. start+2, below the finalised start+1
    await m.mine(2);
    // Logged on every retry, not once and then forgotten.
    await expect
      .poll(() => warnings().filter((w) => /reorg deeper/.test(w.msg)).length, {
        message: "repeated deep-reorg warnings",
        timeout: 10_000,
      })
      .toBeGreaterThanOrEqual(3);
    const warning = warnings().find((w) => /reorg deeper/.test(w.msg));
    expect(warning?.obj).toMatchObject({
      errorName: "DeepReorgError",
      error: expect.stringMatching(
        new RegExp(`reorg below the last finalised block ${start + 1n}`),
      ),
    });
    // Nothing is reported on top of a chain that no longer exists.
    expect(recorder.events.length, describeEvents(recorder.events)).toBe(seen);
  });
});
