/**
 * Callback deliveries per second: the real dispatcher (claim with SKIP LOCKED, sign, POST, record
 * the attempt and the event's new state) draining an outbox of N events into a local receiver,
 * beside a baseline measured in the same run: the same signed POSTs sent straight from memory
 * with the same concurrency and keep-alive connections, no database. The receiver runs in a child
 * process so that it does not share this process's event loop.
 *
 *   node --import tsx bench/callbacks.bench.ts                       (PGlite in a temp dir)
 *   DATABASE_URL=postgres://... node --import tsx bench/callbacks.bench.ts   (schema bench_cb_*)
 *   BENCH_EVENTS=2000 BENCH_CONCURRENCY=16,64 node --import tsx bench/callbacks.bench.ts
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { pino } from "pino";
import { Pool } from "undici";
import { createCallbackDispatcher } from "../packages/gateway/src/callbacks/dispatcher.ts";
import { enqueueStatusCallback } from "../packages/gateway/src/callbacks/outbox.ts";
import { signatureHeader } from "../packages/gateway/src/callbacks/signature.ts";
import { createCallbackUrlGuard } from "../packages/gateway/src/callbacks/url-guard.ts";
import { createWebhookSecrets } from "../packages/gateway/src/organizations/webhook-secrets.ts";
import {
  createDatabase,
  type DatabaseHandle,
} from "../packages/gateway/src/platform/database/create-database.ts";
import { newPaymentIntentId } from "../packages/gateway/src/platform/ids.ts";
import { dropSchema } from "../packages/gateway/src/testing/test-database.ts";
import { commandLine, fmt, table } from "./report.ts";

const CLIENT_ID = "0".repeat(32);
const ENV_KEYS = ["DATABASE_URL", "BENCH_EVENTS", "BENCH_CONCURRENCY"];
const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? "16,64").split(",").map(Number);

// A receiver that counts requests and answers 200 "ok"; prints its port, then the count on stdin.
const RECEIVER = `
const http = require("node:http");
let n = 0;
const s = http.createServer((req, res) => { req.resume(); req.on("end", () => { n++; res.end("ok"); }); });
s.listen(0, "127.0.0.1", () => console.log(s.address().port));
process.stdin.on("data", () => console.log("count " + n));
`;

async function startReceiver(): Promise<{
  url: string;
  proc: ChildProcess;
  count(): Promise<number>;
  stop(): void;
}> {
  const proc = spawn(process.execPath, ["-e", RECEIVER], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) =>
    proc.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
  return {
    url: `http://127.0.0.1:${port}/callback`,
    proc,
    count: () =>
      new Promise<number>((resolve) => {
        proc.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().split(" ")[1])));
        proc.stdin?.write("\n");
      }),
    stop: () => proc.kill(),
  };
}

async function openDatabase(): Promise<{
  database: DatabaseHandle;
  where: string;
  drop(): Promise<void>;
}> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const schema = `bench_cb_${randomBytes(4).toString("hex")}`;
    const database = await createDatabase({ url, schema });
    return {
      database,
      where: `PostgreSQL, schema ${schema}, dropped at the end`,
      drop: async () => {
        await database.close();
        await dropSchema(url, schema);
      },
    };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "stablegate-bench-cb-"));
  const database = await createDatabase({ dataDir: path.join(dir, "pglite") });
  return {
    database,
    where: "PGlite in a temp dir, removed at the end",
    drop: async () => {
      await database.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** N expired intents of one organisation, each with its callback event in the outbox. */
async function seed(database: DatabaseHandle, url: string, n: number, orgId: number) {
  const db = database.db;
  const now = new Date();
  for (let start = 0; start < n; start += 500) {
    await db.transaction().execute(async (trx) => {
      const rows = await trx
        .insertInto("payment_intents")
        .values(
          Array.from({ length: Math.min(500, n - start) }, (_, i) => ({
            id: newPaymentIntentId(),
            org_id: orgId,
            client_id: CLIENT_ID,
            payment_chain_id: "arb",
            payment_address: `0x${(start + i).toString(16).padStart(40, "0")}`,
            deposit_index: 1_000_000 + start + i,
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
            order_data: JSON.stringify({ order_id: `uid_${start + i}`, item_id: "100" }),
            callback_url: url,
            group_key: "bench",
            created_at: now,
            updated_at: now,
          })),
        )
        .returningAll()
        .execute();
      for (const row of rows) await enqueueStatusCallback(trx, row, now);
    });
  }
}

/**
 * The same signed POSTs without the database: what the network and the receiver allow. Like the
 * dispatcher's delivery, it keeps connections alive in an undici pool for the receiver's origin.
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

async function main() {
  const cmd = commandLine(ENV_KEYS);
  const receiver = await startReceiver();
  const { database, where, drop } = await openDatabase();
  const rows: string[][] = [
    ["concurrency", "dispatcher/s", "baseline/s", "ratio", "attempt p50 ms", "attempt p99 ms"],
  ];
  try {
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
    const secrets = createWebhookSecrets({ db });
    const secret = await secrets.create(db, org.id);
    for (const concurrency of CONCURRENCY) {
      await sql`delete from callback_attempts`.execute(db);
      await sql`delete from callback_events`.execute(db);
      await sql`delete from payment_intents`.execute(db);
      await seed(database, receiver.url, EVENTS, org.id);
      const bodies = (await db.selectFrom("callback_events").select("body").execute()).map(
        (r) => r.body,
      );
      const base = await baseline(receiver.url, bodies, secret, concurrency);

      const dispatcher = createCallbackDispatcher({
        db,
        log: pino({ level: "silent" }),
        guard: createCallbackUrlGuard({ allowPrivate: true }),
        secrets,
        concurrency,
        pollIntervalMs: 20,
      });
      const before = await receiver.count();
      const started = performance.now();
      dispatcher.start();
      for (;;) {
        const { n } = await db
          .selectFrom("callback_events")
          .select((eb) => eb.fn.countAll<string>().as("n"))
          .where("state", "=", "delivered")
          .executeTakeFirstOrThrow();
        if (Number(n) >= EVENTS) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const rate = EVENTS / ((performance.now() - started) / 1000);
      await dispatcher.stop();
      const durations = (await db.selectFrom("callback_attempts").select("duration_ms").execute())
        .map((a) => a.duration_ms)
        .sort((a, b) => a - b);
      const pct = (p: number) =>
        durations[Math.min(durations.length - 1, Math.floor(p * durations.length))] ?? 0;
      const received = (await receiver.count()) - before;
      if (received !== EVENTS) throw new Error(`receiver got ${received} of ${EVENTS} callbacks`);
      if (durations.length !== EVENTS)
        throw new Error(`expected ${EVENTS} attempts, got ${durations.length}`);
      rows.push([
        String(concurrency),
        fmt(rate),
        fmt(base),
        `${fmt(rate / base, 2)}x`,
        String(pct(0.5)),
        String(pct(0.99)),
      ]);
    }
  } finally {
    receiver.stop();
    await drop();
  }
  console.log(`# callbacks benchmark, ${new Date().toISOString()}`);
  console.log(`command: ${cmd.typed}`);
  console.log(
    `node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${where}`,
  );
  console.log(`${EVENTS} events per concurrency level; each delivered exactly once (checked)`);
  console.log();
  console.log(table(rows, 1));
}

await main();
