import { type Kysely, sql } from "kysely";
import type { Address, Hex } from "viem";
import { now, sleep, sleepUntil } from "./clock.ts";
import { explainPlan } from "./explain-plan.ts";
import { waitCaughtUp } from "./gateway-runner.ts";
import { headNumber } from "./json-rpc.ts";
import { processCpuMs } from "./process-cpu.ts";
import { type Counts, diffCounts, type RpcCounter } from "./rpc-counter.ts";
import { SEED_AMOUNT, seedId, seedIntents } from "./seed-intents.ts";
import type { LifecycleBench } from "./set-up-bench.ts";
import { SANDBOX_POLL_MS } from "./settings.ts";

/** Blocks let pass after the gateway caught up, before a window starts. */
const WARMUP_BLOCKS = 3;
/** The window pays this many seeded intents every second block. */
export const PAYMENTS_PER_PAYING_BLOCK = 2;

export interface ScaleResult {
  open: number;
  seedSeconds: number;
  blocksMined: number;
  blocks: number;
  calls: Counts;
  cpuMs: number;
  /** The main thread's share of cpuMs (Linux only). */
  mainThreadMs: number | undefined;
  /** Main-thread GC pauses in the window. */
  gcMs: number;
  statements: number;
  statementMs: number;
  applyMs: number;
  /** The watcher's transactions (ingest.applyAll calls). */
  transactions: number;
  serverCpuMs: number | undefined;
  paid: number;
  credited: number;
  /** Statements run in the window, by text, most time first, with the plan of DML statements. */
  breakdown: Array<{ text: string; count: number; ms: number; plan: string }>;
}

/**
 * One part-2 window: seeds up to `open` pending intents (gateway stopped), starts a gateway
 * watching anvil through the counting proxy, and measures `settings.blocks` block intervals in
 * which a few seeded intents are paid.
 */
export async function measureScale(
  bench: LifecycleBench,
  options: {
    counter: RpcCounter;
    open: number;
    seededSoFar: number;
    /** Seeded intents paid by earlier windows: never paid twice. */
    paidSeeds: Set<number>;
    salt: string;
  },
): Promise<ScaleResult> {
  const { chain, payer, settings, statements, gc, runner, signal } = bench;
  const { db } = bench.database;
  const { counter, open } = options;
  const blockMs = settings.blockTimeSeconds * 1000;

  const seedStarted = now();
  await seedIntents(db, bench.tenant, chain.tokenAddress, options.seededSoFar, open, options.salt);
  const seedSeconds = (now() - seedStarted) / 1000;

  // Which seeded intents the window pays: distinct, never paid before, spread over the table.
  const payingBlocks = Math.ceil(settings.blocks / 2);
  const toPay: number[] = [];
  const wanted = Math.min(open - options.paidSeeds.size, payingBlocks * PAYMENTS_PER_PAYING_BLOCK);
  while (toPay.length < wanted) {
    const g = Math.floor(Math.random() * open);
    if (options.paidSeeds.has(g)) continue;
    options.paidSeeds.add(g);
    toPay.push(g);
  }
  const ids = toPay.map(seedId);
  const { rows: targets } =
    ids.length === 0
      ? { rows: [] }
      : await sql<{ id: string; payment_address: Address }>`
          select id, payment_address from payment_intents where id in (${sql.join(ids)})`.execute(
          db,
        );
  const raws = await payer.sign(
    targets.map((t) => ({ to: t.payment_address, value: SEED_AMOUNT })),
  );

  const running = await runner.start(counter.url, SANDBOX_POLL_MS);
  try {
    await waitCaughtUp(db, counter.url, signal);
    await sleep(WARMUP_BLOCKS * blockMs, signal);

    // ---- the window: no SQL, no signing, no API calls of the bench's own ----
    const before = await counter.snapshot();
    const blocksBefore = await headNumber(chain.rpcUrl);
    const applyBefore = structuredClone(running.applies);
    const statementsBefore = { ...statements.totals };
    const byStatementBefore = new Map(
      [...statements.byText].map(([k, v]) => [k, { ...v }] as const),
    );
    const cpuBefore = process.cpuUsage();
    const mainBefore = processCpuMs(process.pid, process.pid);
    const gcBefore = gc.totalMs();
    const windowStart = now();
    let sent = 0;
    for (let b = 0; b < settings.blocks; b++) {
      // Mid-block, every second block: the transfers land in the next one.
      await sleepUntil(windowStart + b * blockMs + blockMs / 2, signal);
      if (b % 2 === 0) {
        for (let k = 0; k < PAYMENTS_PER_PAYING_BLOCK && sent < raws.length; k++)
          await payer.send(raws[sent++] as Hex);
      }
    }
    await sleepUntil(windowStart + settings.blocks * blockMs, signal);
    const cpu = process.cpuUsage(cpuBefore);
    const mainAfter = processCpuMs(process.pid, process.pid);
    const gcAfter = gc.totalMs();
    const statementsAfter = { ...statements.totals };
    const ran = [...statements.byText]
      .map(([text, v]) => {
        const b = byStatementBefore.get(text);
        return { text, count: v.count - (b?.count ?? 0), ms: v.ms - (b?.ms ?? 0), v };
      })
      .filter((e) => e.count > 0)
      .sort((a, b) => b.ms - a.ms);
    const applyAfter = structuredClone(running.applies);
    const blocksAfter = await headNumber(chain.rpcUrl);
    const after = await counter.snapshot();
    // ---- end of the window ----

    const calls = diffCounts(before.counts, after.counts);
    // Not the eth_getLogs by block hash: since 2026-11-28 a block whose header's logsBloom rules
    // out a transfer of the token costs none.
    const blocks = applyAfter.blocks - applyBefore.blocks;

    const serverCpuMs =
      before.serverCpuMs === undefined || after.serverCpuMs === undefined
        ? undefined
        : after.serverCpuMs - before.serverCpuMs;

    const credited = await waitCredited(db, ids.slice(0, sent), signal);

    const breakdown: ScaleResult["breakdown"] = [];
    for (const e of ran) {
      breakdown.push({
        text: e.text,
        count: e.count,
        ms: e.ms,
        plan: await explainPlan(db, e.v.sql, e.v.params),
      });
    }

    const applied = (["block", "finalize", "reorg", "backfill"] as const).reduce(
      (sum, t) => sum + applyAfter.ms[t] - applyBefore.ms[t],
      0,
    );
    return {
      open,
      seedSeconds,
      blocksMined: blocksAfter - blocksBefore,
      blocks,
      calls,
      cpuMs: (cpu.user + cpu.system) / 1000,
      mainThreadMs:
        mainBefore === undefined || mainAfter === undefined ? undefined : mainAfter - mainBefore,
      gcMs: gcAfter - gcBefore,
      statements: statementsAfter.count - statementsBefore.count,
      statementMs: statementsAfter.ms - statementsBefore.ms,
      applyMs: applied,
      transactions: (["block", "finalize", "reorg", "backfill"] as const).reduce(
        (sum, t) => sum + applyAfter.count[t] - applyBefore.count[t],
        0,
      ),
      serverCpuMs,
      paid: sent,
      credited,
      breakdown,
    };
  } finally {
    await runner.stop();
  }
}

/**
 * How many of the intents paid in the window the gateway credited, after the window: waits up to
 * 10 s for all of them; the report shows paid/credited either way.
 */
async function waitCredited(
  db: Kysely<unknown>,
  paid: string[],
  signal: AbortSignal,
): Promise<number> {
  const until = now() + 10_000;
  for (;;) {
    const { rows } =
      paid.length === 0
        ? { rows: [{ n: 0 }] }
        : await sql<{ n: number }>`
            select count(*)::int as n from payment_intents
            where id in (${sql.join(paid)}) and status = 'success'`.execute(db);
    const credited = Number(rows[0]?.n ?? 0);
    if (credited >= paid.length || now() > until) return credited;
    await sleep(200, signal);
  }
}
