/**
 * Gas per payment leaving its deposit address: today's `topup` strategy (native coin sent to the
 * deposit address, then token transfers from it) against `eip7702` (one sweepMany transaction
 * from the gas wallet per batch, authorizations for undelegated deposit addresses) at each batch
 * size, measured in the same run on real anvil with the real gateway. Each scenario gets a chain
 * and a database schema of its own, so the figures do not mix. Counted from the chain: the
 * receipts of the gateway's transactions, the native balances of the deposit addresses, and a
 * scan of every block for transactions the gateway's keys sent. See docs/benchmarks.md.
 *
 *   npm run bench:treasury                                 (PGlite in a temp dir per scenario)
 *   DATABASE_URL=postgres://... npm run bench:treasury     (PostgreSQL, schema bench_<random>)
 *   BENCH_BATCHES=1,10,50 BENCH_PAYMENTS=50 BENCH_REFUNDS=5 BENCH_FEE_BPS=100 npm run bench:treasury
 */
import { pino } from "pino";
import { envDatabaseUrl, envIntList, envNumber } from "./env-settings.ts";
import { commandLine, fmt, printRunHeader, redactUrl, table } from "./report.ts";
import { runWithCleanups } from "./run-with-cleanups.ts";
import {
  type Kind,
  type PaymentCost,
  runScenario,
  type ScenarioResult,
  type ScenarioSettings,
} from "./treasury/run-scenario.ts";

const ENV_KEYS = [
  "DATABASE_URL",
  "BENCH_BATCHES",
  "BENCH_PAYMENTS",
  "BENCH_REFUNDS",
  "BENCH_FEE_BPS",
  "BENCH_TTL_SECONDS",
  "BENCH_MAX_WAIT_MS",
  "BENCH_BLOCK_TIME",
  "BENCH_LOG_LEVEL",
];
/** The issue's goal is stated at this batch size. */
const GOAL_BATCH = 50;

const batches = envIntList("BENCH_BATCHES", [1, 10, GOAL_BATCH], 1);
// Unset: max(batch, 10) per scenario, so the largest batch can fill.
const paymentsOverride = envNumber("BENCH_PAYMENTS", 0, 0);
const refunds = envNumber("BENCH_REFUNDS", 2, 0);
const feeBps = envNumber("BENCH_FEE_BPS", 100, 0);
const ttlSeconds = envNumber("BENCH_TTL_SECONDS", 20, 5);
// Shorter than the gateway's default (30 s) to keep the run short. At 10 s one run's first batch
// went out with one refund alone (1, 49, 48 sweeps): refunds are due before the collections.
const maxWaitMs = envNumber("BENCH_MAX_WAIT_MS", 20_000, 0);
const blockTimeSeconds = envNumber("BENCH_BLOCK_TIME", 0.5, 0.2, false);
const databaseUrl = envDatabaseUrl();
const logLevel = process.env.BENCH_LOG_LEVEL || "warn";
const paymentsFor = (batch: number) => Math.max(paymentsOverride || Math.max(batch, 10), refunds);
if (refunds >= paymentsFor(Math.min(...batches)))
  throw new Error(`BENCH_REFUNDS must be below the number of payments, got ${refunds}`);

const cmd = commandLine(ENV_KEYS);
const abort = new AbortController();
// Ctrl-C ends the run and still cleans up (drops the schemas, stops anvil); a second one exits.
const onSigint = () => {
  if (abort.signal.aborted) process.exit(130);
  abort.abort(new Error("interrupted"));
};
process.on("SIGINT", onSigint);

// Warnings (RPC failures, a batch that could not be sent) go to stderr: a run that had them says so.
const log = pino({ level: logLevel }, pino.destination(2));
const plans: Array<Pick<ScenarioSettings, "strategy" | "batch" | "payments">> = [
  { strategy: "topup", batch: 1, payments: paymentsFor(10) },
  ...batches.map((batch) => ({
    strategy: "eip7702" as const,
    batch,
    payments: paymentsFor(batch),
  })),
];

printRunHeader(
  "Stablegate treasury benchmark: gas per payment",
  cmd,
  databaseUrl
    ? `PostgreSQL ${redactUrl(databaseUrl)}, a schema bench_<random> per scenario, dropped at the end`
    : "PGlite on disk, a temp dir per scenario, removed at the end",
  [
    `chain:       anvil, a block every ${blockTimeSeconds} s, 1 confirmation; a fresh chain per scenario`,
    `payments:    max(batch, 10) intents per scenario (topup: ${paymentsFor(10)})${paymentsOverride ? ` (BENCH_PAYMENTS=${paymentsOverride})` : ""}, ${refunds} of them underpaid and refunded, the rest collected with a ${feeBps} bps fee`,
    `sweeps:      SWEEP_MAX_WAIT_MS=${maxWaitMs}, SWEEP_BATCH_SIZE the scenario's batch; PAYMENT_TTL_SECONDS=${ttlSeconds}, COLLECTION_DELAY_SECONDS=0`,
  ],
);

const results: ScenarioResult[] = [];
const ok = await runWithCleanups(async () => {
  for (const plan of plans) {
    // Each scenario's chain, gateway and database are gone before the next one starts.
    let result: ScenarioResult | undefined;
    const scenarioOk = await runWithCleanups(async (addCleanup) => {
      result = await runScenario(
        {
          ...plan,
          refunds,
          feeBps,
          ttlSeconds,
          maxWaitMs,
          blockTimeSeconds,
          databaseUrl,
          log,
          signal: abort.signal,
        },
        addCleanup,
      );
    });
    if (!scenarioOk || !result) throw new Error(`scenario ${label(plan)} failed`);
    results.push(result);
    console.log(`${label(plan)}: done on ${result.anvilVersion}, ${result.databaseLabel}`);
  }
  report(results);
});

process.removeListener("SIGINT", onSigint);
if (abort.signal.aborted) process.exitCode = 130;
else if (!ok) process.exitCode = 1;

function label(p: Pick<ScenarioSettings, "strategy" | "batch">): string {
  return p.strategy === "topup" ? "topup" : `eip7702 batch ${p.batch}`;
}

function stats(costs: PaymentCost[], kind: Kind) {
  const of = costs.filter((c) => c.kind === kind);
  const mean = (f: (c: PaymentCost) => number) => of.reduce((s, c) => s + f(c), 0) / of.length;
  const seconds = of.map((c) => c.seconds).sort((a, b) => a - b);
  return {
    n: of.length,
    gas: mean((c) => c.gas),
    txs: mean((c) => c.txs),
    p50: seconds[Math.floor((seconds.length - 1) / 2)] ?? Number.NaN,
    max: seconds[seconds.length - 1] ?? Number.NaN,
  };
}

function report(all: ScenarioResult[]): void {
  const topup = all.find((r) => r.settings.strategy === "topup");
  for (const kind of ["collection", "refund"] as const) {
    const base = topup ? stats(topup.payments, kind) : undefined;
    console.log(`\nPer ${kind === "collection" ? "collected payment" : "refund"}`);
    const rows = [
      ["strategy", "payments", "gas", "vs topup", "txs", "deadline→confirmed p50 s", "max s"],
    ];
    for (const r of all) {
      const s = stats(r.payments, kind);
      rows.push([
        label(r.settings),
        String(s.n),
        fmt(s.gas),
        base ? fmt(s.gas / base.gas, 2) : "n/a",
        fmt(s.txs, 2),
        fmt(s.p50, 1),
        fmt(s.max, 1),
      ]);
    }
    console.log(table(rows, 1));
  }

  console.log("\nTransactions and what is left on the deposit addresses");
  const rows = [
    [
      "strategy",
      "gateway txs (by purpose)",
      "sweeps per batch",
      "deadlines spread s",
      "sweeper deploy gas",
      "native left (wei)",
      "holding",
      "chain scan = chain_txs",
    ],
  ];
  for (const r of all) {
    const purposes = Object.entries(r.txsByPurpose)
      .map(([p, n]) => `${p} ${n}`)
      .join(", ");
    rows.push([
      label(r.settings),
      purposes,
      r.batchSizes.join(",") || "-",
      fmt(r.deadlineSpread, 1),
      r.deployGas ? String(r.deployGas) : "-",
      String(r.nativeLeft.total),
      `${r.nativeLeft.holding}/${r.nativeLeft.addresses}`,
      r.scanned.txs === r.recorded.txs && r.scanned.gas === r.recorded.gas
        ? `yes (${r.scanned.txs} txs)`
        : `NO: chain ${r.scanned.txs} txs ${r.scanned.gas} gas, recorded ${r.recorded.txs} txs ${r.recorded.gas} gas`,
    ]);
  }
  console.log(table(rows, 2));

  console.log("\nEach sweepMany transaction (eip7702): where the gas goes");
  const batchRows = [["strategy", "batch tx", "sweeps", "authorizations", "gas", "gas per sweep"]];
  for (const r of all)
    for (const [i, b] of r.batchTxs.entries())
      if (r.settings.batch > 1 || i < 2)
        batchRows.push([
          label(r.settings),
          String(i + 1),
          String(b.sweeps),
          String(b.authorizations),
          String(b.gas),
          fmt(b.gas / b.sweeps),
        ]);
  console.log(table(batchRows, 1));
  console.log("  (batch 1: its first two transactions only)");

  const goal = all.find(
    (r) => r.settings.strategy === "eip7702" && r.settings.batch === GOAL_BATCH,
  );
  console.log(`\nGoal (issue 15) at batch ${GOAL_BATCH}`);
  if (!goal || !topup) {
    console.log(`  not checked: the run has no topup or no batch-${GOAL_BATCH} scenario`);
    return;
  }
  const verdict = (met: boolean) => (met ? "met    " : "NOT met");
  for (const kind of ["collection", "refund"] as const) {
    const g = stats(goal.payments, kind);
    const b = stats(topup.payments, kind);
    console.log(
      `  ${verdict(g.gas <= b.gas / 2)}  gas per ${kind} at most half of topup's: ${fmt(g.gas)} vs ${fmt(b.gas)} (${fmt(g.gas / b.gas, 2)})`,
    );
  }
  // The goal's words: the gas wallet's one sweepMany per batch is all that is sent (no top-up,
  // no transfer from a deposit address), where top-up sends several transactions per payment.
  const sweeps = goal.batchSizes.reduce((a, b) => a + b, 0);
  const onlyBatches = Object.keys(goal.txsByPurpose).every(
    (p) => p === "sweep_batch" || p === "deploy_sweeper",
  );
  const oneEach = goal.txsByPurpose.sweep_batch === goal.batchSizes.length;
  const t = stats(topup.payments, "collection");
  const g = stats(goal.payments, "collection");
  console.log(
    `  ${verdict(onlyBatches && oneEach)}  one transaction per batch: ${goal.batchSizes.length} sweepMany for ${goal.batchSizes.length} batches of ${sweeps} sweeps (${goal.batchSizes.join(", ")}) for ${goal.payments.length} payments, nothing else sent but the sweeper's deployment; per collected payment ${fmt(g.txs, 2)} transactions against topup's ${fmt(t.txs, 2)}`,
  );
  const clean = all
    .filter((r) => r.settings.strategy === "eip7702")
    .every((r) => r.nativeLeft.total === 0n);
  console.log(
    `  ${verdict(clean)}  zero native coin left on any deposit address (every eip7702 scenario; topup left ${topup.nativeLeft.total} wei on ${topup.nativeLeft.holding})`,
  );
}
