/**
 * Callback deliveries per second: the real dispatcher (claim with SKIP LOCKED, sign, POST, record
 * the attempt and the event's new state) draining an outbox of N events into a local receiver,
 * beside a baseline measured in the same run: the same signed POSTs sent straight from memory
 * with the same concurrency and connection policy (an undici pool per origin, kept alive), no
 * database. The receiver runs in a child process so that it does not share this process's event
 * loop; it counts requests and the connections they came on.
 *
 * Then the idle dispatcher at its default settings: the claim queries it makes over a quiet
 * window (it should make none: it sleeps until an event is written or a retry is due), and how
 * long a callback written while it sleeps takes to arrive (written on another connection pool on
 * PostgreSQL, as another gateway process would).
 *
 *   npm run bench:callbacks                                   (PGlite in a temp dir)
 *   DATABASE_URL=postgres://... npm run bench:callbacks       (schema bench_cb_*, dropped)
 *   BENCH_EVENTS=4000 BENCH_CONCURRENCY=16,64 BENCH_IDLE_SECONDS=10 npm run bench:callbacks
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as wait } from "node:timers/promises";
import { type Insertable, sql } from "kysely";
import { pino } from "pino";
import { Pool } from "undici";
import { createCallbackDispatcher } from "../packages/gateway/src/callbacks/dispatcher.ts";
import { CALLBACK_TOPIC, enqueueStatusCallback } from "../packages/gateway/src/callbacks/outbox.ts";
import { signatureHeader } from "../packages/gateway/src/callbacks/signature.ts";
import { createCallbackUrlGuard } from "../packages/gateway/src/callbacks/url-guard.ts";
import { createWebhookSecrets } from "../packages/gateway/src/organizations/webhook-secrets.ts";
import { loadConfig } from "../packages/gateway/src/platform/config.ts";
import {
  createDatabase,
  type DatabaseHandle,
} from "../packages/gateway/src/platform/database/create-database.ts";
import type { PaymentIntentsTable } from "../packages/gateway/src/platform/database/schema.ts";
import { newPaymentIntentId } from "../packages/gateway/src/platform/ids.ts";
import { dropSchema } from "../packages/gateway/src/testing/test-database.ts";
import { envDatabaseUrl, envIntList, envNumber } from "./env-settings.ts";
import { createBackendCpuTracker } from "./lifecycle/backend-cpu-tracker.ts";
import { processCpuMs } from "./lifecycle/process-cpu.ts";
import { instrumentStatements, type StatementLog } from "./lifecycle/statement-timer.ts";
import { commandLine, fmt, printRunHeader, table } from "./report.ts";
import { runWithCleanups } from "./run-with-cleanups.ts";

const CLIENT_ID = "0".repeat(32);
const ENV_KEYS = ["DATABASE_URL", "BENCH_EVENTS", "BENCH_CONCURRENCY", "BENCH_IDLE_SECONDS"];
const DATABASE_URL = envDatabaseUrl();
const EVENTS = envNumber("BENCH_EVENTS", 4000, 1);
// The gateway's defaults, as `serve` would run with no settings.
const DEFAULTS = loadConfig({}, {});
const CONCURRENCY = envIntList("BENCH_CONCURRENCY", [DEFAULTS.CALLBACK_CONCURRENCY, 64], 1);
const IDLE_SECONDS = envNumber("BENCH_IDLE_SECONDS", 10, 1);

// Answers 200 "ok" and counts requests and connections; prints its port, then "<requests>
// <connections>" for each line read on stdin.
const RECEIVER = `
const http = require("node:http");
let n = 0, c = 0;
const s = http.createServer((req, res) => { req.resume(); req.on("end", () => { n++; res.end("ok"); }); });
s.keepAliveTimeout = 65000;
s.on("connection", () => c++);
s.listen(0, "127.0.0.1", () => console.log(s.address().port));
process.stdin.on("data", () => console.log(n + " " + c));
`;

interface Receiver {
  url: string;
  proc: ChildProcess;
  /** Requests and connections so far. */
  count(): Promise<{ requests: number; connections: number }>;
}

async function startReceiver(): Promise<Receiver> {
  const proc = spawn(process.execPath, ["-e", RECEIVER], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) =>
    proc.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
  return {
    url: `http://127.0.0.1:${port}/callback`,
    proc,
    count: () =>
      new Promise((resolve) => {
        proc.stdout?.once("data", (d: Buffer) => {
          const [requests, connections] = d.toString().trim().split(" ").map(Number);
          resolve({ requests: requests ?? 0, connections: connections ?? 0 });
        });
        proc.stdin?.write("\n");
      }),
  };
}

async function openDatabase(addCleanup: (name: string, fn: () => Promise<unknown>) => void) {
  if (DATABASE_URL) {
    const schema = `bench_cb_${randomBytes(4).toString("hex")}`;
    addCleanup("drop schema", () => dropSchema(DATABASE_URL, schema));
    // Named, so that the CPU of its server backends can be read (the writer's is not counted).
    const named = new URL(DATABASE_URL);
    named.searchParams.set("application_name", schema);
    const database = await createDatabase({ url: named.toString(), schema });
    const backends = createBackendCpuTracker(DATABASE_URL, schema);
    addCleanup("close backend CPU reader", () => backends.close());
    addCleanup("close database", () => database.close());
    // What another gateway process would write through: its own pool and connections.
    const writer = await createDatabase({ url: DATABASE_URL, schema });
    addCleanup("close writer", () => writer.close());
    return {
      database,
      writer,
      backendCpuMs: () => backends.total(),
      label: `PostgreSQL (${(await sql<{ v: string }>`select version() as v`.execute(database.db)).rows[0]?.v.split(" on ")[0]}), schema ${schema}, dropped at the end`,
    };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "stablegate-bench-cb-"));
  addCleanup("remove temp dir", () => rm(dir, { recursive: true, force: true }));
  const database = await createDatabase({ dataDir: path.join(dir, "pglite") });
  addCleanup("close database", () => database.close());
  return {
    database,
    writer: database,
    backendCpuMs: async (): Promise<number | undefined> => undefined,
    label: "PGlite in a temp dir, removed at the end",
  };
}

function intentRow(
  url: string,
  orgId: number,
  i: number,
  now: Date,
): Insertable<PaymentIntentsTable> {
  return {
    id: newPaymentIntentId(),
    org_id: orgId,
    client_id: CLIENT_ID,
    payment_chain_id: "arb",
    payment_address: `0x${i.toString(16).padStart(40, "0")}`,
    deposit_index: 1_000_000 + i,
    token_address: "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9",
    symbol: "USDT",
    decimals: 6,
    crypto_amount: 9_230_000n,
    fiat_amount: "300.0",
    fiat_currency: "TWD",
    rate: "32.5",
    rate_source: "bench",
    payment_deadline: now,
    status: "expired",
    payment_tx_hash: null,
    payment_tx_timestamp: null,
    payer_address: null,
    received_amount: null,
    refund_tx_hash: null,
    refund_amount: null,
    aggregated_amount: null,
    aggregation_tx_hash: null,
    order_data: JSON.stringify({ order_id: `uid_${i}`, item_id: "100" }),
    callback_url: url,
    group_key: "bench",
    created_at: now,
    updated_at: now,
  };
}

let seeded = 0;
/** N expired intents of one organisation, each with its callback event written by the outbox. */
async function seed(database: DatabaseHandle, url: string, n: number, orgId: number) {
  const now = new Date();
  for (let start = 0; start < n; start += 500) {
    await database.db.transaction().execute(async (trx) => {
      const rows = await trx
        .insertInto("payment_intents")
        .values(
          Array.from({ length: Math.min(500, n - start) }, () =>
            intentRow(url, orgId, seeded++, now),
          ),
        )
        .returningAll()
        .execute();
      for (const row of rows) await enqueueStatusCallback(trx, row, now);
    });
  }
}

/**
 * The same signed POSTs without the database: what the network and the receiver allow. Like the
 * dispatcher's delivery, an undici pool for the receiver's origin keeps its connections alive.
 */
async function baseline(url: string, bodies: string[], secret: string, concurrency: number) {
  let next = 0;
  const { origin, pathname } = new URL(url);
  const pool = new Pool(origin);
  const post = async (body: string) => {
    const res = await pool.request({
      path: pathname,
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-stablegate-signature": signatureHeader(body, [secret], Math.floor(Date.now() / 1000)),
      },
      body,
    });
    await res.body.dump();
  };
  try {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < bodies.length) await post(bodies[next++] as string);
      }),
    );
    return bodies.length / ((performance.now() - started) / 1000);
  } finally {
    await pool.close();
  }
}

/** Statements run since `before`, by kind (the dispatcher's own, told apart by their text). */
function statementsSince(log: StatementLog, before: ReturnType<typeof snapshot>) {
  const out = { total: 0, claim: 0, record: 0, wake: 0, claimMs: 0, recordMs: 0 };
  for (const [text, entry] of log.byText) {
    const was = before.get(text) ?? { count: 0, ms: 0 };
    const n = entry.count - was.count;
    const ms = entry.ms - was.ms;
    if (n === 0) continue;
    out.total += n;
    if (text.startsWith("update callback_events set locked_until")) {
      out.claim += n;
      out.claimMs += ms;
    } else if (text.includes("jsonb_to_recordset")) {
      out.record += n;
      out.recordMs += ms;
    } else if (text.startsWith("select least(")) out.wake += n;
  }
  return out;
}

function snapshot(log: StatementLog): Map<string, { count: number; ms: number }> {
  return new Map([...log.byText].map(([text, e]) => [text, { count: e.count, ms: e.ms }]));
}

function dispatcherFor(
  database: DatabaseHandle,
  concurrency: number,
  onAttempt: (outcome: "delivered" | "retry" | "failed") => void,
) {
  return createCallbackDispatcher({
    db: database.db,
    log: pino({ level: "silent" }),
    guard: createCallbackUrlGuard({ allowPrivate: true }),
    secrets: createWebhookSecrets({ db: database.db }),
    concurrency,
    pollIntervalMs: DEFAULTS.CALLBACK_POLL_MS,
    timeoutMs: DEFAULTS.CALLBACK_TIMEOUT_MS,
    onAttempt,
  });
}

/** Starts the dispatcher woken by notifications, as the gateway's composition root does. */
async function start(database: DatabaseHandle, dispatcher: ReturnType<typeof dispatcherFor>) {
  const wake = () => dispatcher.nudge();
  const unlisten = await database.notifications.listen(CALLBACK_TOPIC, {
    message: wake,
    reset: wake,
  });
  dispatcher.start();
  return async () => {
    await unlisten();
    await dispatcher.stop();
  };
}

/**
 * CPU spent from now until the returned function is called: this process (the dispatcher, and on
 * PGlite the database too), the receiver, and on a local PostgreSQL the dispatcher's backends.
 */
async function cpuMeter(receiver: Receiver, backendCpuMs: () => Promise<number | undefined>) {
  const own = process.cpuUsage();
  const received = processCpuMs(receiver.proc.pid ?? 0);
  const backends = await backendCpuMs();
  return async () => {
    const used = process.cpuUsage(own);
    const receivedNow = processCpuMs(receiver.proc.pid ?? 0);
    const backendsNow = await backendCpuMs();
    return {
      own: (used.user + used.system) / 1000,
      receiver:
        received === undefined || receivedNow === undefined ? undefined : receivedNow - received,
      backends:
        backends === undefined || backendsNow === undefined ? undefined : backendsNow - backends,
    };
  };
}

function waitFor(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (check()) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
}

async function main(addCleanup: (name: string, fn: () => Promise<unknown>) => void) {
  const cmd = commandLine(ENV_KEYS);
  const statements = instrumentStatements();
  const receiver = await startReceiver();
  addCleanup("stop receiver", async () => receiver.proc.kill());
  const { database, writer, backendCpuMs, label } = await openDatabase(addCleanup);
  printRunHeader("# callbacks benchmark", cmd, label, [
    `events:      ${EVENTS} per concurrency level, each delivered exactly once (checked)`,
    `dispatcher:  default settings (CALLBACK_POLL_MS ${DEFAULTS.CALLBACK_POLL_MS}, CALLBACK_TIMEOUT_MS ${DEFAULTS.CALLBACK_TIMEOUT_MS}) but the concurrency`,
  ]);
  const db = database.db;
  const org = await db
    .insertInto("organizations")
    .values({ name: "bench", default_chain_id: "arb", default_token_symbol: "USDT" })
    .returning("id")
    .executeTakeFirstOrThrow();
  await db
    .insertInto("clients")
    .values({ client_id: CLIENT_ID, org_id: org.id, name: "bench", allowed_origins: [] })
    .execute();
  const secret = await createWebhookSecrets({ db }).create(db, org.id);

  const rows: string[][] = [
    [
      "concurrency",
      "dispatcher/s",
      "baseline/s",
      "ratio",
      "attempt p50 ms",
      "p99 ms",
      "connections",
      "claims (ms each)",
      "records (ms each)",
      "stmts/delivery",
    ],
  ];
  const cpuRows: string[][] = [
    ["concurrency", "sender", "this process", "receiver", "PostgreSQL backends"],
  ];
  for (const concurrency of CONCURRENCY) {
    await sql`delete from callback_attempts`.execute(db);
    await sql`delete from callback_events`.execute(db);
    await sql`delete from payment_intents`.execute(db);
    await seed(database, receiver.url, EVENTS, org.id);
    // What autovacuum would have done by now on a server (the claim's plan needs the due events'
    // count). PGlite has no autovacuum: its planner goes without, as a PGlite gateway's does.
    if (DATABASE_URL) await sql`analyze callback_events`.execute(db);
    const bodies = (await db.selectFrom("callback_events").select("body").execute()).map(
      (r) => r.body,
    );
    const baseCpu = await cpuMeter(receiver, backendCpuMs);
    const base = await baseline(receiver.url, bodies, secret, concurrency);
    const baseUsed = await baseCpu();

    let delivered = 0;
    let missed = 0;
    const dispatcher = dispatcherFor(database, concurrency, (outcome) =>
      outcome === "delivered" ? delivered++ : missed++,
    );
    const before = await receiver.count();
    const stmtsBefore = snapshot(statements);
    const cpu = await cpuMeter(receiver, backendCpuMs);
    const started = performance.now();
    const stop = await start(database, dispatcher);
    await waitFor(() => delivered + missed >= EVENTS);
    const rate = EVENTS / ((performance.now() - started) / 1000);
    const used = statementsSince(statements, stmtsBefore);
    const cpuUsed = await cpu();
    await stop();
    const after = await receiver.count();
    const durations = (await db.selectFrom("callback_attempts").select("duration_ms").execute())
      .map((a) => a.duration_ms)
      .sort((a, b) => a - b);
    const pct = (p: number) =>
      durations[Math.min(durations.length - 1, Math.floor(p * durations.length))] ?? 0;
    if (missed > 0) throw new Error(`${missed} callbacks were not delivered at the first attempt`);
    if (after.requests - before.requests !== EVENTS)
      throw new Error(`receiver got ${after.requests - before.requests} of ${EVENTS} callbacks`);
    if (durations.length !== EVENTS)
      throw new Error(`expected ${EVENTS} attempts, got ${durations.length}`);
    rows.push([
      String(concurrency),
      fmt(rate),
      fmt(base),
      `${fmt(rate / base, 2)}x`,
      String(pct(0.5)),
      String(pct(0.99)),
      String(after.connections - before.connections),
      `${used.claim} (${fmt(used.claimMs / used.claim, 1)})`,
      `${used.record} (${fmt(used.recordMs / used.record, 1)})`,
      fmt(used.total / EVENTS, 2),
    ]);
    const us = (ms: number | undefined) => (ms === undefined ? "n/a" : fmt((ms * 1000) / EVENTS));
    cpuRows.push(
      [`${concurrency}`, "baseline", us(baseUsed.own), us(baseUsed.receiver), "-"],
      [`${concurrency}`, "dispatcher", us(cpuUsed.own), us(cpuUsed.receiver), us(cpuUsed.backends)],
    );
  }
  console.log(table(rows, 1));
  console.log();
  console.log("CPU per delivery, microseconds (where a delivery's time goes):");
  console.log(table(cpuRows, 2));
  console.log();

  // The idle dispatcher at default settings: nothing due, then one event written meanwhile.
  let delivered = 0;
  const dispatcher = dispatcherFor(database, DEFAULTS.CALLBACK_CONCURRENCY, () => {
    delivered++;
  });
  const stop = await start(database, dispatcher);
  // Its first pass (a claim that finds nothing, then when to wake) happens at start.
  await wait(500);
  const idleBefore = snapshot(statements);
  await wait(IDLE_SECONDS * 1000);
  const idle = statementsSince(statements, idleBefore);
  const latencies: number[] = [];
  for (let i = 0; i < 5; i++) {
    const now = new Date();
    const target = delivered + 1;
    await writer.db.transaction().execute(async (trx) => {
      const [row] = await trx
        .insertInto("payment_intents")
        .values(intentRow(receiver.url, org.id, seeded++, now))
        .returningAll()
        .execute();
      if (row) await enqueueStatusCallback(trx, row, now);
    });
    const committed = performance.now();
    await waitFor(() => delivered >= target);
    latencies.push(performance.now() - committed);
    await wait(1000);
  }
  await stop();
  console.log(
    `idle, ${IDLE_SECONDS} s with nothing due: ${idle.claim} claim queries, ${idle.wake} wake-time queries, ${idle.total} statements in all`,
  );
  console.log(
    `an event written while it sleeps (${DATABASE_URL ? "by another connection pool" : "in the same PGlite"}), commit to recorded delivery: ${latencies.map((l) => fmt(l, 1)).join(", ")} ms`,
  );
}

const ok = await runWithCleanups(main);
if (!ok) process.exitCode = 1;
