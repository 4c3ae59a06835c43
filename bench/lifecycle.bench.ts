/**
 * Payment lifecycle against real anvil and the real gateway (its own chain watcher, ingest and
 * lifecycle services, HTTP API). Two parts, see docs/benchmarks.md:
 *
 * 1. Detection latency: intents created through the API, each paid exactly by an ERC-20 transfer
 *    on anvil (1 s blocks, 1 confirmation, a few payments per block), timed from the moment the
 *    block holding the payment was first observable to the moment GET shows `success`. Once per
 *    watcher polling interval in BENCH_POLL_MS.
 * 2. Cost per block with many open intents: pending intents seeded in bulk (1,000, 10,000,
 *    100,000), the gateway's watcher reading anvil through a counting JSON-RPC proxy in a child
 *    process, a few seeded intents paid during the window. Reports RPC calls, gateway-process CPU
 *    and SQL statement time per processed block.
 *
 *   node --import tsx bench/lifecycle.bench.ts                         (PGlite in a temp dir)
 *   DATABASE_URL=postgres://... node --import tsx bench/lifecycle.bench.ts
 *                                                       (PostgreSQL, schema bench_<random>)
 *   BENCH_PAYMENTS=100 BENCH_PER_BLOCK=4 BENCH_POLL_MS=250,100 \
 *   BENCH_SIZES=1000,10000,100000 BENCH_BLOCKS=30 node --import tsx bench/lifecycle.bench.ts
 */
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PerformanceObserver, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";
import { mnemonicToSeedSync } from "@scure/bip39";
import { CompiledQuery, type Kysely, sql } from "kysely";
import pg from "pg";
import { pino } from "pino";
import {
  type Address,
  createPublicClient,
  encodeFunctionData,
  erc20Abi,
  type Hex,
  http,
  parseGwei,
  parseUnits,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { RegisteredChain } from "../packages/gateway/src/chain/chain-registry.ts";
import { TRANSFER_EVENT } from "../packages/gateway/src/chain/follower/get-transfer-logs.ts";
import type { FollowerEvent } from "../packages/gateway/src/chain/follower/types.ts";
import { type Gateway, startGateway } from "../packages/gateway/src/gateway.ts";
import { loadConfig } from "../packages/gateway/src/platform/config.ts";
import {
  createDatabase,
  type DatabaseHandle,
} from "../packages/gateway/src/platform/database/create-database.ts";
import { type LocalChain, startLocalChain } from "../packages/gateway/src/sandbox/local-chain.ts";
import { freePort } from "../packages/gateway/src/testing/cli-process.ts";
import { startJsonRpcProxy } from "../packages/gateway/src/testing/json-rpc-proxy.ts";
import { dropSchema } from "../packages/gateway/src/testing/test-database.ts";
// Fixed so every run derives the same deposit addresses.
import { TEST_MNEMONIC } from "../packages/gateway/src/testing/test-gateway.ts";
import { commandLine, fmt, table } from "./report.ts";

const CHAIN_KEY = "local";
const ENV_KEYS = [
  "DATABASE_URL",
  "BENCH_PAYMENTS",
  "BENCH_PER_BLOCK",
  "BENCH_POLL_MS",
  "BENCH_SIZES",
  "BENCH_BLOCKS",
  "BENCH_BLOCK_TIME",
  "BENCH_LOG_LEVEL",
] as const;
/** How often each paid intent is read through the API while its success is awaited. */
const API_POLL_MS = 20;
/** How often the head observer (a worker thread) asks anvil for eth_blockNumber. */
const HEAD_POLL_MS = 10;
/** The polling interval the sandbox registers its local chain with; used for part 2. */
const SANDBOX_POLL_MS = 250;
/** Blocks let pass after the gateway caught up, before a part-2 window starts. */
const WARMUP_BLOCKS = 3;
/** Payments made and thrown away before the first measured row of part 1. */
const WARMUP_PAYMENTS = 8;
/** Rows per INSERT ... SELECT when seeding. */
const SEED_BATCH = 10_000;
/** Seeded deposit indexes start here, far above what the sequence hands out in part 1. */
const SEED_DEPOSIT_INDEX_BASE = 1_000_000_000;
/** Seeded intents ask for 1 USDT (base units, 6 decimals). */
const SEED_AMOUNT = 1_000_000n;
/** Part 2 pays this many seeded intents every second block of the window. */
const PAYMENTS_PER_PAYING_BLOCK = 2;
const GAS = 100_000n;
const CREATE_BODY = {
  fiat_amount: "300.0",
  fiat_currency: "TWD",
  group_key: "bench-lifecycle",
} as const;

interface Settings {
  databaseUrl: string | undefined;
  payments: number;
  perBlock: number;
  pollMs: number[];
  sizes: number[];
  blocks: number;
  blockTimeSeconds: number;
  logLevel: string;
}

function readSettings(): Settings {
  const num = (key: string, fallback: number, min: number, integer = true): number => {
    const raw = process.env[key];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if ((integer && !Number.isInteger(n)) || !(n >= min))
      throw new Error(
        `${key} must be ${integer ? "an integer" : "a number"} >= ${min}, got ${raw}`,
      );
    return n;
  };
  const list = (key: string, fallback: number[], min: number): number[] => {
    const raw = process.env[key];
    if (raw === undefined || raw.trim() === "") return fallback;
    const values = raw.split(",").map((s) => Number(s.trim()));
    if (values.some((n) => !Number.isInteger(n) || n < min))
      throw new Error(`${key} must be a comma-separated list of integers >= ${min}, got ${raw}`);
    return values;
  };
  const databaseUrl = process.env.DATABASE_URL || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error("DATABASE_URL must be a postgres:// or postgresql:// URL");
  }
  return {
    databaseUrl,
    // 0 skips part 1.
    payments: num("BENCH_PAYMENTS", 100, 0),
    perBlock: num("BENCH_PER_BLOCK", 4, 1),
    pollMs: list("BENCH_POLL_MS", [SANDBOX_POLL_MS, 100], 10),
    // Cumulative: each size adds rows to the previous one's.
    // A size repeated measures another window at the same size (for the spread between windows).
    sizes: list("BENCH_SIZES", [1_000, 10_000, 100_000], 0).sort((a, b) => a - b),
    blocks: num("BENCH_BLOCKS", 30, 4),
    blockTimeSeconds: num("BENCH_BLOCK_TIME", 1, 0.2, false),
    logLevel: process.env.BENCH_LOG_LEVEL || "warn",
  };
}

// ---- small helpers ----------------------------------------------------------------------------

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across worker threads. */
const now = () => performance.timeOrigin + performance.now();

const abort = new AbortController();

function sleep(ms: number): Promise<void> {
  const signal = abort.signal;
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

const sleepUntil = (t: number) => sleep(Math.max(0, t - now()));

async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error || body.result === undefined)
    throw new Error(`${method}: ${body.error?.message ?? `HTTP ${res.status}, no result`}`);
  return body.result;
}

const headNumber = async (url: string) => Number(await rpc<string>(url, "eth_blockNumber"));

interface Stats {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles. */
function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return {
    n: s.length,
    min: s[0] ?? Number.NaN,
    p50: at(0.5) ?? Number.NaN,
    p90: at(0.9) ?? Number.NaN,
    p99: at(0.99) ?? Number.NaN,
    max: s.at(-1) ?? Number.NaN,
  };
}

// ---- SQL statement timing ---------------------------------------------------------------------

/**
 * Every statement either driver runs, counted and timed from the call to its result (BEGIN and
 * COMMIT included: kysely sends them through the same `query`). The bench runs no SQL of its own
 * inside a measured window, so the deltas are the gateway's.
 */
const statements = { count: 0, ms: 0 };
/**
 * The same per statement text (whitespace collapsed), with the parameters of its last call: the
 * breakdown, and the EXPLAIN of exactly what the gateway ran.
 */
const byStatement = new Map<
  string,
  { count: number; ms: number; sql: string; params: unknown[] }
>();

function instrumentStatements(): void {
  const wrap = (proto: { query: (...args: any[]) => unknown }) => {
    const original = proto.query;
    proto.query = function (this: unknown, ...args: unknown[]) {
      const started = performance.now();
      const result = original.apply(this, args);
      if (result && typeof (result as Promise<unknown>).then === "function") {
        const done = () => {
          const ms = performance.now() - started;
          statements.count += 1;
          statements.ms += ms;
          const text = typeof args[0] === "string" ? args[0].replace(/\s+/g, " ").trim() : "?";
          const entry = byStatement.get(text) ?? { count: 0, ms: 0, sql: text, params: [] };
          entry.count += 1;
          entry.ms += ms;
          entry.sql = typeof args[0] === "string" ? args[0] : text;
          entry.params = Array.isArray(args[1]) ? args[1] : [];
          byStatement.set(text, entry);
        };
        (result as Promise<unknown>).then(done, done);
      }
      return result;
    };
  };
  wrap(PGlite.prototype as unknown as { query: (...args: any[]) => unknown });
  wrap(pg.Client.prototype as unknown as { query: (...args: any[]) => unknown });
}

/** Main-thread garbage-collection pauses (ms), summed since the observer started. */
let gcPauseMs = 0;

function observeGc(): PerformanceObserver {
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcPauseMs += entry.duration;
  });
  observer.observe({ entryTypes: ["gc"] });
  return observer;
}

// ---- PostgreSQL server CPU --------------------------------------------------------------------

/**
 * CPU time of one local process (or, with `tid`, one of its threads) in ms, from schedstat (ns
 * on CPU) or else stat (clock ticks); undefined where /proc does not show it.
 */
function processCpuMs(pid: number, tid?: number): number | undefined {
  const dir = tid === undefined ? `/proc/${pid}` : `/proc/${pid}/task/${tid}`;
  try {
    const ns = Number(readFileSync(`${dir}/schedstat`, "utf8").split(" ")[0]);
    if (Number.isFinite(ns)) return ns / 1e6;
  } catch {}
  try {
    // Fields 14 and 15 (utime, stime) in clock ticks; the name in field 2 may contain spaces.
    const stat = readFileSync(`${dir}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/**
 * The CPU of the PostgreSQL backends whose application_name is `appName`, summed: those alive at
 * the first sample from that moment on, later ones from their start. The pool closes idle
 * connections after 10 s and opens new ones, so the set is re-read at every sample. Undefined
 * when /proc does not show the backends (a server on another machine).
 */
function createBackendCpuTracker(adminUrl: string, appName: string) {
  const client = new pg.Client({
    connectionString: adminUrl,
    application_name: `${appName}_admin`,
  });
  const baseline = new Map<number, number>();
  const latest = new Map<number, number>();
  let unreadable = false;
  let first = true;
  let connected: Promise<unknown> | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  async function sampleNow(): Promise<void> {
    connected ??= client.connect();
    await connected;
    const { rows } = await client.query<{ pid: number }>(
      "select pid from pg_stat_activity where application_name = $1",
      [appName],
    );
    for (const { pid } of rows) {
      const ms = processCpuMs(pid);
      if (ms === undefined) {
        unreadable = true;
        continue;
      }
      if (!baseline.has(pid)) baseline.set(pid, first ? ms : 0);
      latest.set(pid, ms);
    }
    first = false;
  }

  return {
    /** Samples now (serialised with the periodic samples) and returns the running total. */
    async total(): Promise<number | undefined> {
      queue = queue.then(sampleNow, sampleNow);
      await queue;
      if (unreadable) return undefined;
      let sum = 0;
      for (const [pid, ms] of latest) sum += ms - (baseline.get(pid) ?? 0);
      return sum;
    },
    close: () => client.end(),
  };
}

// ---- the counting JSON-RPC proxy (child process) ----------------------------------------------

type Counts = Record<string, number>;

interface CounterSnapshot {
  counts: Counts;
  /** Running total of the PostgreSQL backends' CPU (ms), when tracked and readable. */
  serverCpuMs: number | undefined;
}

/**
 * Child-process role: the testing JSON-RPC proxy in front of anvil, counting calls per method,
 * and, for PostgreSQL, the tracker of the gateway pool's backends (its SQL runs here, not in the
 * gateway's process).
 */
async function runRpcProxy(target: string): Promise<void> {
  const counts: Counts = {};
  const proxy = await startJsonRpcProxy({
    target,
    handler: (request, forward) => {
      let key = request.method;
      if (key === "eth_getLogs") {
        const filter = (request.params?.[0] ?? {}) as { blockHash?: string };
        key = filter.blockHash === undefined ? "eth_getLogs (range)" : "eth_getLogs (block hash)";
      }
      counts[key] = (counts[key] ?? 0) + 1;
      return forward();
    },
  });
  const serverUrl = process.env.BENCH_CHILD_SERVER_URL;
  const appName = process.env.BENCH_CHILD_APP_NAME;
  const tracker = serverUrl && appName ? createBackendCpuTracker(serverUrl, appName) : undefined;
  const timer = tracker ? setInterval(() => void tracker.total().catch(() => {}), 500) : undefined;
  await tracker?.total();
  const send = (message: unknown) => process.send?.(message);
  process.on("message", (message: { type: string; id?: number }) => {
    if (message.type !== "snapshot") return;
    // Counts first: they are what the window is cut at; the server sample follows at once.
    const snapshot = { ...counts };
    void (tracker ? tracker.total() : Promise.resolve(undefined)).then(
      (serverCpuMs) => send({ type: "snapshot", id: message.id, counts: snapshot, serverCpuMs }),
      () => send({ type: "snapshot", id: message.id, counts: snapshot, serverCpuMs: undefined }),
    );
  });
  // The parent exiting (or stopping us) closes the channel: nothing else keeps this process.
  process.on("disconnect", () => {
    clearInterval(timer);
    void Promise.allSettled([proxy.close(), tracker?.close()]).then(() => process.exit(0));
  });
  send({ type: "ready", url: proxy.url });
}

interface RpcCounter {
  url: string;
  snapshot(): Promise<CounterSnapshot>;
  stop(): Promise<void>;
}

async function startRpcCounter(
  target: string,
  server: { url: string; appName: string } | undefined,
): Promise<RpcCounter> {
  // Its own process: the proxy's CPU must not count as the gateway's. The database URL goes by
  // environment, not argv, where any password would show in `ps`.
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ["--rpc-proxy", target], {
    execArgv: process.execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: {
      ...process.env,
      ...(server
        ? { BENCH_CHILD_SERVER_URL: server.url, BENCH_CHILD_APP_NAME: server.appName }
        : {}),
    },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let nextId = 0;
  const waiting = new Map<number, (snapshot: CounterSnapshot) => void>();
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`RPC proxy exited during startup (${code})`)));
    child.on(
      "message",
      (m: { type: string; url?: string; id?: number } & Partial<CounterSnapshot>) => {
        if (m.type === "ready" && m.url) resolve(m.url);
        if (m.type === "snapshot" && m.id !== undefined)
          waiting.get(m.id)?.({ counts: m.counts ?? {}, serverCpuMs: m.serverCpuMs });
      },
    );
  });
  return {
    url,
    snapshot() {
      const id = nextId++;
      return new Promise<CounterSnapshot>((resolve) => {
        waiting.set(id, (snapshot) => {
          waiting.delete(id);
          resolve(snapshot);
        });
        child.send({ type: "snapshot", id });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.disconnect();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function diffCounts(before: Counts, after: Counts): Counts {
  const out: Counts = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

// ---- the head observer (worker thread) --------------------------------------------------------

// Plain JavaScript so the worker needs no TypeScript loader. It posts each new block number with
// the time it was first seen; the main thread's own delays do not move those times.
const HEAD_OBSERVER = `
const { parentPort, workerData } = require("node:worker_threads");
const { rpcUrl, intervalMs } = workerData;
const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] });
let last = -1;
let stopped = false;
parentPort.on("message", () => { stopped = true; });
(async () => {
  while (!stopped) {
    const started = performance.now();
    try {
      const res = await fetch(rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body });
      const n = Number((await res.json()).result);
      const at = performance.timeOrigin + performance.now();
      if (last < 0) last = n;
      else if (n > last) {
        for (let b = last + 1; b <= n; b++) parentPort.postMessage({ n: b, at });
        last = n;
      }
    } catch {}
    const wait = intervalMs - (performance.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  parentPort.close();
})();
`;

interface HeadObserver {
  /** When each block number was first seen (ms, see `now`). */
  seen: Map<number, number>;
  /** The time the newest block was first seen. */
  lastSeenAt(): number;
  stop(): Promise<void>;
}

function startHeadObserver(rpcUrl: string): HeadObserver {
  const worker = new Worker(HEAD_OBSERVER, {
    eval: true,
    workerData: { rpcUrl, intervalMs: HEAD_POLL_MS },
  });
  const seen = new Map<number, number>();
  let last = 0;
  worker.on("message", (m: { n: number; at: number }) => {
    seen.set(m.n, m.at);
    last = Math.max(last, m.at);
  });
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  let stopping: Promise<void> | undefined;
  return {
    seen,
    lastSeenAt: () => last,
    stop() {
      stopping ??= (async () => {
        worker.postMessage("stop");
        const timer = setTimeout(() => void worker.terminate(), 2000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

// ---- payments ---------------------------------------------------------------------------------

interface Payer {
  /** Signs transfers of the test USDT with consecutive nonces, to be sent later as they are. */
  sign(transfers: Array<{ to: Address; value: bigint }>): Promise<Hex[]>;
  /** eth_sendRawTransaction straight to anvil (never through the counting proxy). */
  send(raw: Hex): Promise<Hex>;
}

function createPayer(chain: LocalChain): Payer {
  const account = privateKeyToAccount(chain.payerPrivateKey);
  return {
    async sign(transfers) {
      let nonce = Number(
        await rpc<string>(chain.rpcUrl, "eth_getTransactionCount", [account.address, "pending"]),
      );
      const raws: Hex[] = [];
      for (const t of transfers) {
        raws.push(
          await account.signTransaction({
            chainId: chain.evmChainId,
            type: "eip1559",
            to: chain.tokenAddress,
            data: encodeFunctionData({
              abi: erc20Abi,
              functionName: "transfer",
              args: [t.to, t.value],
            }),
            nonce: nonce++,
            gas: GAS,
            // Far above anvil's base fee (1 gwei and falling on empty blocks): never stuck.
            maxFeePerGas: parseGwei("20"),
            maxPriorityFeePerGas: parseGwei("1"),
          }),
        );
      }
      return raws;
    },
    send: (raw) => rpc<Hex>(chain.rpcUrl, "eth_sendRawTransaction", [raw]),
  };
}

interface Receipt {
  blockNumber: number;
  status: string;
}

async function receipts(rpcUrl: string, hashes: Hex[]): Promise<Receipt[]> {
  const out: Receipt[] = [];
  for (const hash of hashes) {
    const r = await rpc<{ blockNumber: string; status: string } | null>(
      rpcUrl,
      "eth_getTransactionReceipt",
      [hash],
    );
    if (r === null) throw new Error(`no receipt for ${hash}`);
    out.push({ blockNumber: Number(r.blockNumber), status: r.status });
  }
  return out;
}

// ---- gateway ----------------------------------------------------------------------------------

interface ApplyTimes {
  /** Wall time of each ingest.apply, by event type. */
  ms: Record<FollowerEvent["type"], number>;
  count: Record<FollowerEvent["type"], number>;
}

interface Running {
  gateway: Gateway;
  applies: ApplyTimes;
}

function localChain(chain: LocalChain, rpcUrl: string, pollingIntervalMs: number): RegisteredChain {
  // As the sandbox registers it (sandbox.ts), with the polling interval under test.
  return {
    key: CHAIN_KEY,
    evmChainId: chain.evmChainId,
    name: "Sandbox (anvil)",
    tokens: [
      { symbol: chain.tokenSymbol, address: chain.tokenAddress, decimals: chain.tokenDecimals },
    ],
    rpcUrls: [rpcUrl],
    confirmations: 1,
    pollingIntervalMs,
  };
}

async function waitCaughtUp(db: Kysely<unknown>, rpcUrl: string): Promise<void> {
  const until = now() + 60_000;
  for (;;) {
    const head = await headNumber(rpcUrl);
    const { rows } = await sql<{ n: string | null }>`
      select max(number)::text as n from chain_blocks where chain_id = ${CHAIN_KEY}`.execute(db);
    const tip = rows[0]?.n;
    if (tip != null && Number(tip) >= head) return;
    if (now() > until)
      throw new Error(`the watcher did not catch up within 60 s (head ${head}, stored ${tip})`);
    await sleep(100);
  }
}

// ---- part 1: detection latency ----------------------------------------------------------------

interface LatencyResult {
  pollMs: number;
  payments: number;
  blocks: number;
  maxPerBlock: number;
  /** First observation of the block holding the payment -> GET shows success. */
  seenToApi: Stats;
  /** First observation -> the success history row's created_at (before COMMIT). */
  seenToCommit: Stats;
  /** eth_sendRawTransaction returned -> GET shows success (includes waiting to be mined). */
  sentToApi: Stats;
  applyMs: { block: number; finalize: number };
}

interface Intent {
  id: string;
  to: Address;
  value: bigint;
  raw?: Hex;
  txHash?: Hex;
  sentAt?: number;
  pollable?: boolean;
  successAt?: number;
}

async function measureLatency(options: {
  running: Running;
  db: Kysely<unknown>;
  chain: LocalChain;
  payer: Payer;
  heads: HeadObserver;
  apiKey: string;
  settings: Settings;
  pollMs: number;
  payments: number;
}): Promise<LatencyResult> {
  const { running, db, chain, payer, heads, apiKey, settings } = options;
  const base = `${running.gateway.url}/v1/studio/api/payment/intent`;
  const auth = { "x-studio-api-key": apiKey };

  // Intents first, through the API, then every transfer signed: signing during the run would
  // take the main thread from the gateway at the moments being measured.
  const intents: Intent[] = [];
  for (let i = 0; i < options.payments; i++) {
    const res = await fetch(base, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        ...CREATE_BODY,
        order_data: { order_id: `${randomBytes(6).toString("hex")}_${i}` },
      }),
    });
    const body = (await res.json()) as {
      code: number;
      data?: {
        payment_intent_id: string;
        payment_address: Address;
        crypto_amount: string;
        decimals: number;
        payment_chain_id: string;
        status: string;
      };
    };
    const d = body.data;
    if (body.code !== 0 || !d || d.payment_chain_id !== CHAIN_KEY || d.status !== "pending")
      throw new Error(`create answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
    intents.push({
      id: d.payment_intent_id,
      to: d.payment_address,
      value: parseUnits(d.crypto_amount, d.decimals),
    });
  }
  const raws = await payer.sign(intents);
  intents.forEach((intent, i) => {
    intent.raw = raws[i];
  });

  const blockMs = settings.blockTimeSeconds * 1000;
  const slot = blockMs / settings.perBlock;
  const start = now() + 300;
  const appliesBefore = structuredClone(running.applies);

  // One payment per slot, at a random moment within it: payments land at every phase of a block.
  const sender = (async () => {
    for (const [i, intent] of intents.entries()) {
      await sleepUntil(start + i * slot + Math.random() * slot);
      intent.txHash = await payer.send(intent.raw as Hex);
      intent.sentAt = now();
    }
  })();

  // One loop reads every intent whose payment may be in a block already (a block was seen after
  // it was sent), each every API_POLL_MS, until GET shows success.
  const poller = (async () => {
    let lastSent = Number.POSITIVE_INFINITY;
    for (;;) {
      const tick = now();
      const lastBlockAt = heads.lastSeenAt();
      for (const intent of intents) {
        if (!intent.pollable && intent.sentAt !== undefined && lastBlockAt > intent.sentAt)
          intent.pollable = true;
      }
      const due = intents.filter((i) => i.pollable && i.successAt === undefined);
      await Promise.all(
        due.map(async (intent) => {
          const res = await fetch(`${base}/${intent.id}`, { headers: auth });
          const body = (await res.json()) as { code: number; data?: { status: string } };
          const status = body.data?.status;
          if (status === "success") intent.successAt = now();
          else if (status !== "pending")
            throw new Error(`intent ${intent.id}: ${JSON.stringify(body).slice(0, 300)}`);
        }),
      );
      if (intents.every((i) => i.successAt !== undefined)) return;
      if (intents.every((i) => i.sentAt !== undefined))
        lastSent = Math.min(lastSent, Math.max(...intents.map((i) => i.sentAt ?? 0)));
      if (now() - lastSent > 30_000) {
        const missing = intents.filter((i) => i.successAt === undefined).map((i) => i.id);
        throw new Error(
          `${missing.length} intents not success 30 s after the last payment: ${missing.slice(0, 5).join(", ")}`,
        );
      }
      await sleepUntil(tick + API_POLL_MS);
    }
  })();
  await Promise.all([sender, poller]);
  const appliesAfter = structuredClone(running.applies);

  // After the run: which block each payment landed in, and when the gateway decided.
  const mined = await receipts(
    chain.rpcUrl,
    intents.map((i) => i.txHash as Hex),
  );
  const { rows: history } = await sql<{ payment_intent_id: string; created_at: Date | string }>`
    select payment_intent_id, created_at from payment_intent_status_history
    where to_status = 'success' and payment_intent_id in (${sql.join(intents.map((i) => i.id))})`.execute(
    db,
  );
  const committedAt = new Map(history.map((h) => [h.payment_intent_id, new Date(h.created_at)]));
  const seenToApi: number[] = [];
  const seenToCommit: number[] = [];
  const sentToApi: number[] = [];
  const perBlock = new Map<number, number>();
  intents.forEach((intent, i) => {
    const r = mined[i];
    if (r?.status !== "0x1") throw new Error(`payment to ${intent.id} failed on chain`);
    const seenAt = heads.seen.get(r.blockNumber);
    if (seenAt === undefined) throw new Error(`block ${r.blockNumber} was never observed`);
    const committed = committedAt.get(intent.id);
    if (committed === undefined) throw new Error(`intent ${intent.id} has no success history`);
    seenToApi.push((intent.successAt as number) - seenAt);
    seenToCommit.push(committed.getTime() - seenAt);
    sentToApi.push((intent.successAt as number) - (intent.sentAt as number));
    perBlock.set(r.blockNumber, (perBlock.get(r.blockNumber) ?? 0) + 1);
  });
  const per = (type: "block" | "finalize") =>
    (appliesAfter.ms[type] - appliesBefore.ms[type]) /
    Math.max(1, appliesAfter.count[type] - appliesBefore.count[type]);
  return {
    pollMs: options.pollMs,
    payments: intents.length,
    blocks: perBlock.size,
    maxPerBlock: Math.max(...perBlock.values()),
    seenToApi: stats(seenToApi),
    seenToCommit: stats(seenToCommit),
    sentToApi: stats(sentToApi),
    applyMs: { block: per("block"), finalize: per("finalize") },
  };
}

// ---- part 2: cost per block -------------------------------------------------------------------

const RPC_CALIBRATION_CALLS = 200;

/**
 * Process CPU per JSON-RPC call made the way the follower makes them (a viem public client over
 * http, no retries): a reference for the RPC share of the watcher's CPU per block.
 */
async function rpcClientCpu(chain: LocalChain): Promise<{ getBlock: number; getLogs: number }> {
  const client = createPublicClient({
    transport: http(chain.rpcUrl, { timeout: 10_000, retryCount: 0 }),
  });
  const timeCalls = async (fn: () => Promise<unknown>): Promise<number> => {
    for (let i = 0; i < 20; i++) await fn();
    const before = process.cpuUsage();
    for (let i = 0; i < RPC_CALIBRATION_CALLS; i++) await fn();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000 / RPC_CALIBRATION_CALLS;
  };
  const head = await client.getBlock({ blockTag: "latest" });
  const blockHash = head.hash as Hex;
  const getBlock = await timeCalls(() => client.getBlock({ blockTag: "latest" }));
  const getLogs = await timeCalls(() =>
    client.getLogs({ address: [chain.tokenAddress], event: TRANSFER_EVENT, blockHash }),
  );
  return { getBlock, getLogs };
}

interface ScaleResult {
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
  serverCpuMs: number | undefined;
  paid: number;
  credited: number;
  /** Statements run in the window, by text, most time first, with the plan of DML statements. */
  breakdown: Array<{ text: string; count: number; ms: number; plan: string }>;
}

async function seed(
  db: Kysely<unknown>,
  tenant: { orgId: number; clientId: string },
  token: Address,
  from: number,
  to: number,
  salt: string,
): Promise<void> {
  // Generated by the database, in batches: the address is two md5s of a per-run salt and the row
  // number (distinct, random-looking, lower case), the deposit index far above the sequence's.
  for (let first = from; first < to; first += SEED_BATCH) {
    const last = Math.min(to, first + SEED_BATCH) - 1;
    await sql`
      insert into payment_intents (id, org_id, client_id, payment_chain_id, payment_address,
        deposit_index, token_address, symbol, decimals, crypto_amount, fiat_amount, fiat_currency,
        rate, rate_source, payment_deadline, status, group_key)
      select 'seed' || lpad(g::text, 28, '0'), ${tenant.orgId}::int, ${tenant.clientId}::text,
        ${CHAIN_KEY}::text,
        '0x' || md5(${salt}::text || g::text) || substr(md5(g::text || ${salt}::text), 1, 8),
        ${SEED_DEPOSIT_INDEX_BASE}::int + g, ${token}::text, 'USDT', 6,
        ${SEED_AMOUNT.toString()}::numeric, '32.5', 'TWD', '32.5', 'static',
        now() + interval '1 day', 'pending', 'bench-seed'
      from generate_series(${first}::int, ${last}::int) as g`.execute(db);
  }
}

const seedId = (g: number) => `seed${String(g).padStart(28, "0")}`;

const PLAN_NODE =
  /^(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan|Bitmap Index Scan|Update on|Insert on|Delete on|Sort|Limit|LockRows|Nested Loop|Hash Join|Merge Join|Aggregate|SubPlan|InitPlan)/;

/**
 * The plan of a statement the gateway ran, with the parameters it last ran with, as one line of
 * its nodes (which scans, on which indexes). EXPLAIN without ANALYZE: nothing is executed.
 */
async function plan(db: Kysely<unknown>, statement: string, params: unknown[]): Promise<string> {
  if (!/^\s*(select|insert|update|delete|with)\b/i.test(statement)) return "";
  try {
    const { rows } = await db.executeQuery<{ "QUERY PLAN": string }>(
      CompiledQuery.raw(`explain ${statement}`, params),
    );
    return (
      rows
        .map((r) => r["QUERY PLAN"].trim().replace(/^->\s*/, ""))
        // Node lines only, not their details (Sort Key:, Index Cond:, Filter:).
        .filter((l) => PLAN_NODE.test(l) && !/^[A-Za-z ]+:/.test(l))
        .map((l) => l.replace(/\s*\(cost=.*$/, ""))
        .join(" > ")
    );
  } catch (err) {
    return `(explain failed: ${(err as Error).message})`;
  }
}

async function measureScale(options: {
  db: Kysely<unknown>;
  start: () => Promise<Running>;
  stop: () => Promise<void>;
  chain: LocalChain;
  payer: Payer;
  counter: RpcCounter;
  settings: Settings;
  tenant: { orgId: number; clientId: string };
  open: number;
  seededSoFar: number;
  paidSeeds: Set<number>;
  salt: string;
}): Promise<ScaleResult> {
  const { db, chain, payer, counter, settings, tenant, open } = options;
  const blockMs = settings.blockTimeSeconds * 1000;

  const seedStarted = now();
  await seed(db, tenant, chain.tokenAddress, options.seededSoFar, open, options.salt);
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

  const running = await options.start();
  try {
    await waitCaughtUp(db, counter.url);
    await sleep(WARMUP_BLOCKS * blockMs);

    // ---- the window: no SQL, no signing, no API calls of the bench's own ----
    const before = await counter.snapshot();
    const blocksBefore = await headNumber(chain.rpcUrl);
    const applyBefore = structuredClone(running.applies);
    const statementsBefore = { ...statements };
    const byStatementBefore = new Map([...byStatement].map(([k, v]) => [k, { ...v }]));
    const cpuBefore = process.cpuUsage();
    const mainBefore = processCpuMs(process.pid, process.pid);
    const gcBefore = gcPauseMs;
    const windowStart = now();
    let sent = 0;
    for (let b = 0; b < settings.blocks; b++) {
      // Mid-block, every second block: the transfers land in the next one.
      await sleepUntil(windowStart + b * blockMs + blockMs / 2);
      if (b % 2 === 0) {
        for (let k = 0; k < PAYMENTS_PER_PAYING_BLOCK && sent < raws.length; k++)
          await payer.send(raws[sent++] as Hex);
      }
    }
    await sleepUntil(windowStart + settings.blocks * blockMs);
    const cpu = process.cpuUsage(cpuBefore);
    const mainAfter = processCpuMs(process.pid, process.pid);
    const gcAfter = gcPauseMs;
    const statementsAfter = { ...statements };
    const ran = [...byStatement]
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
    // Each block the watcher processes costs exactly one eth_getLogs by block hash.
    const blocks = calls["eth_getLogs (block hash)"] ?? 0;

    const serverCpuMs =
      before.serverCpuMs === undefined || after.serverCpuMs === undefined
        ? undefined
        : after.serverCpuMs - before.serverCpuMs;

    // The payments sent in the window: wait for them to be credited (after the window).
    const until = now() + 10_000;
    let credited = 0;
    for (;;) {
      const { rows } =
        ids.length === 0
          ? { rows: [{ n: 0 }] }
          : await sql<{ n: number }>`
              select count(*)::int as n from payment_intents
              where id in (${sql.join(ids.slice(0, sent))}) and status = 'success'`.execute(db);
      credited = Number(rows[0]?.n ?? 0);
      if (credited >= sent || now() > until) break;
      await sleep(200);
    }

    const breakdown: ScaleResult["breakdown"] = [];
    for (const e of ran) {
      breakdown.push({
        text: e.text,
        count: e.count,
        ms: e.ms,
        plan: await plan(db, e.v.sql, e.v.params),
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
      serverCpuMs,
      paid: sent,
      credited,
      breakdown,
    };
  } finally {
    await options.stop();
  }
}

// ---- main -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const settings = readSettings();
  const cmd = commandLine(ENV_KEYS);
  const cleanups: Array<[string, () => Promise<unknown>]> = [];
  let failed = false;

  // Ctrl-C ends the run and still cleans up (drops the schema, stops anvil); a second one exits.
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort(new Error("interrupted"));
  };
  process.on("SIGINT", onSigint);

  try {
    instrumentStatements();
    const gcObserver = observeGc();
    cleanups.push(["stop GC observer", async () => gcObserver.disconnect()]);

    // ---- database ---------------------------------------------------------------------------
    let database: DatabaseHandle;
    let where: string;
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "stablegate-bench-"));
    cleanups.push(["remove temp dir", () => rm(dataDir, { recursive: true, force: true })]);
    let server: { url: string; appName: string } | undefined;
    if (settings.databaseUrl) {
      const url = settings.databaseUrl;
      const schema = `bench_${randomBytes(4).toString("hex")}`;
      where = `schema ${schema}, dropped at the end`;
      // Registered before the schema exists: a failed migration must not leave it behind.
      cleanups.push([`drop schema ${schema}`, () => dropSchema(url, schema)]);
      // A name of its own, so the gateway pool's backends can be found for their CPU time.
      const appName = `stablegate_${schema}`;
      const poolUrl = new URL(url);
      poolUrl.searchParams.set("application_name", appName);
      database = await createDatabase({ url: poolUrl.toString(), schema });
      server = { url, appName };
    } else {
      where = `data dir ${dataDir}, removed at the end`;
      database = await createDatabase({ dataDir: path.join(dataDir, "pglite") });
    }
    cleanups.push(["close database", () => database.close()]);
    const db = database.db as unknown as Kysely<unknown>;
    const { rows: versionRows } = await sql<{ v: string }>`select version() as v`.execute(db);
    const serverVersion = versionRows[0]?.v.split(" on ")[0] ?? "?";

    // ---- chain ------------------------------------------------------------------------------
    const chain = await startLocalChain({
      port: await freePort(),
      blockTimeSeconds: settings.blockTimeSeconds,
      log: pino({ level: settings.logLevel }, pino.destination(2)),
    });
    cleanups.push(["stop anvil", () => chain.stop()]);
    const anvilVersion = await rpc<string>(chain.rpcUrl, "web3_clientVersion").catch(() => "?");
    const payer = createPayer(chain);

    // ---- gateway ----------------------------------------------------------------------------
    const config = loadConfig(
      {},
      {
        PORT: 0,
        HOST: "127.0.0.1",
        LOG_LEVEL: "silent",
        DATA_DIR: dataDir,
        RATES_PROVIDER: "static",
      },
    );
    const seed = mnemonicToSeedSync(TEST_MNEMONIC);
    // Warnings (RPC failures, watcher restarts) go to stderr: a run that had them says so.
    const log = pino({ level: settings.logLevel }, pino.destination(2));
    let current: Running | undefined;
    const start = async (rpcUrl: string, pollingIntervalMs: number): Promise<Running> => {
      const gateway = await startGateway({
        config,
        log,
        seed,
        database,
        extraChains: [localChain(chain, rpcUrl, pollingIntervalMs)],
      });
      const applies: ApplyTimes = {
        ms: { block: 0, finalize: 0, reorg: 0, backfill: 0 },
        count: { block: 0, finalize: 0, reorg: 0, backfill: 0 },
      };
      // The watcher calls ingest.apply on this very object for each event: time it there.
      const ingest = gateway.services.ingest;
      const apply = ingest.apply.bind(ingest);
      ingest.apply = async (chainKey, event) => {
        const started = performance.now();
        try {
          return await apply(chainKey, event);
        } finally {
          applies.ms[event.type] += performance.now() - started;
          applies.count[event.type] += 1;
        }
      };
      current = { gateway, applies };
      return current;
    };
    const stop = async () => {
      const running = current;
      current = undefined;
      await running?.gateway.stop();
    };
    cleanups.push(["stop gateway", stop]);

    const first = await start(chain.rpcUrl, settings.pollMs[0] ?? SANDBOX_POLL_MS);
    const { tenancy } = first.gateway.services;
    const org = await tenancy.createOrganization({
      name: "bench",
      defaultChainId: CHAIN_KEY,
      defaultTokenSymbol: "USDT",
    });
    const client = await tenancy.createClient({ orgId: org.id, name: "bench", allowedOrigins: [] });
    const apiKey = await tenancy.createApiKey({ orgId: org.id, name: "bench" });
    await stop();

    const dbLabel =
      database.kind === "postgres"
        ? `PostgreSQL (${serverVersion}; ${where})`
        : `PGlite (${serverVersion}; on disk, ${where})`;
    console.log("Stablegate payment-lifecycle benchmark");
    console.log(`command:     ${cmd.typed}`);
    if (cmd.typed !== cmd.node) console.log(`runs:        ${cmd.node}`);
    console.log(`date:        ${new Date().toISOString()}`);
    console.log(`node:        ${process.version} (${process.platform}/${process.arch})`);
    console.log(`cpus:        ${os.availableParallelism()} x ${os.cpus()[0]?.model.trim() ?? "?"}`);
    const loadavg = os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(" ");
    console.log(`load avg:    ${loadavg} (1, 5, 15 min, at start)`);
    console.log(`database:    ${dbLabel}`);
    console.log(
      `chain:       ${anvilVersion}, a block every ${settings.blockTimeSeconds} s, 1 confirmation`,
    );
    console.log("");

    // ---- part 1 -----------------------------------------------------------------------------
    if (settings.payments > 0) {
      const heads = startHeadObserver(chain.rpcUrl);
      cleanups.push(["stop head observer", () => heads.stop()]);
      const latency: LatencyResult[] = [];
      for (const pollMs of settings.pollMs) {
        process.stderr.write(
          `part 1: ${settings.payments} payments, watcher polling every ${pollMs} ms...\n`,
        );
        const running = await start(chain.rpcUrl, pollMs);
        await waitCaughtUp(db, chain.rpcUrl);
        const run = (payments: number) =>
          measureLatency({
            running,
            db,
            chain,
            payer,
            heads,
            apiKey: apiKey.secret,
            settings,
            pollMs,
            payments,
          });
        // The first payments of the process pay for JIT compilation of the whole path: not counted.
        if (latency.length === 0) await run(WARMUP_PAYMENTS);
        latency.push(await run(settings.payments));
        await stop();
      }
      await heads.stop();

      const blockMs = settings.blockTimeSeconds * 1000;
      console.log(
        `Detection latency: ${settings.payments} exact payments per row, ${settings.perBlock} sent per block interval at random moments, 1 confirmation, a block every ${blockMs} ms (ms)`,
      );
      const latencyRows = [
        [
          "watcher poll",
          "payments",
          "blocks",
          "max/block",
          "seen->GET p50",
          "p90",
          "p99",
          "max",
          "seen->commit p50",
          "p99",
          "sent->GET p50",
          "p99",
          "apply block",
          "apply finalize",
        ],
      ];
      for (const r of latency) {
        latencyRows.push([
          `${r.pollMs} ms`,
          String(r.payments),
          String(r.blocks),
          String(r.maxPerBlock),
          fmt(r.seenToApi.p50),
          fmt(r.seenToApi.p90),
          fmt(r.seenToApi.p99),
          fmt(r.seenToApi.max),
          fmt(r.seenToCommit.p50),
          fmt(r.seenToCommit.p99),
          fmt(r.sentToApi.p50),
          fmt(r.sentToApi.p99),
          fmt(r.applyMs.block, 1),
          fmt(r.applyMs.finalize, 1),
        ]);
      }
      console.log(table(latencyRows, 1));
      console.log(
        [
          `seen:   the block holding the payment first answered by eth_blockNumber (polled every ${HEAD_POLL_MS} ms in a worker thread)`,
          `GET:    the first GET /payment/intent/{id} answering success (each paid intent read every ${API_POLL_MS} ms once a block after its payment was seen)`,
          "commit: created_at of the success history row (clock_timestamp() in the transaction, just before COMMIT)",
          "sent:   eth_sendRawTransaction returned; includes the wait to be mined (up to one block interval)",
          "apply:  mean wall time of the watcher's ingest.apply per event (one transaction each)",
          `floor:  seen->GET >= the wait for the watcher's next poll (0..poll interval); sent->GET >= the wait for the block (0..${blockMs} ms)`,
        ].join("\n"),
      );
      console.log("");
    }

    // ---- part 2 -----------------------------------------------------------------------------
    if (settings.sizes.length > 0) {
      const counter = await startRpcCounter(chain.rpcUrl, server);
      cleanups.push(["stop RPC proxy", () => counter.stop()]);
      const scale: ScaleResult[] = [];
      const paidSeeds = new Set<number>();
      const salt = randomBytes(8).toString("hex");
      let seeded = 0;
      // What the process costs with the gateway stopped (timers, GC of earlier garbage): the
      // floor under the CPU column. Then the client side of the watcher's two kinds of call.
      const idle: number[] = [];
      for (let i = 0; i < 4; i++) {
        const before = process.cpuUsage();
        const started = now();
        await sleep(1000);
        const used = process.cpuUsage(before);
        idle.push((used.user + used.system) / (now() - started));
      }
      const perCall = await rpcClientCpu(chain);
      for (const open of settings.sizes) {
        process.stderr.write(`part 2: ${open} open intents, ${settings.blocks} blocks...\n`);
        scale.push(
          await measureScale({
            db,
            start: () => start(counter.url, SANDBOX_POLL_MS),
            stop,
            chain,
            payer,
            counter,
            settings,
            tenant: { orgId: org.id, clientId: client.clientId },
            open,
            seededSoFar: seeded,
            paidSeeds,
            salt,
          }),
        );
        seeded = Math.max(seeded, open);
      }

      console.log(
        `Cost per processed block: watcher polling every ${SANDBOX_POLL_MS} ms through a counting JSON-RPC proxy (child process), ${settings.blocks}-block windows, ${PAYMENTS_PER_PAYING_BLOCK} seeded intents paid every second block`,
      );
      const methods = [...new Set(scale.flatMap((s) => Object.keys(s.calls)))].sort();
      const scaleRows = [
        [
          "open intents",
          "seed s",
          "blocks",
          "RPC/block",
          ...methods.map((m) => m.replace(/^eth_/, "")),
          "CPU ms/block",
          "main thread",
          "GC pauses",
          "SQL/block",
          "SQL ms/block",
          "apply ms/block",
          "server CPU ms/block",
          "paid/credited",
        ],
      ];
      for (const s of scale) {
        const per = (n: number, digits = 1) =>
          fmt(s.blocks > 0 ? n / s.blocks : Number.NaN, digits);
        const total = Object.values(s.calls).reduce((a, b) => a + b, 0);
        scaleRows.push([
          s.open.toLocaleString("en-US"),
          fmt(s.seedSeconds, 1),
          `${s.blocks}/${s.blocksMined}`,
          per(total, 2),
          ...methods.map((m) => per(s.calls[m] ?? 0, 2)),
          per(s.cpuMs),
          s.mainThreadMs === undefined ? "n/a" : per(s.mainThreadMs),
          per(s.gcMs),
          per(s.statements),
          per(s.statementMs),
          per(s.applyMs),
          s.serverCpuMs === undefined ? "n/a" : per(s.serverCpuMs),
          `${s.paid}/${s.credited}`,
        ]);
      }
      console.log(table(scaleRows, 1));
      console.log(
        [
          "blocks:      processed by the watcher in the window (its eth_getLogs by block hash) / mined",
          "RPC/block:   every JSON-RPC call the gateway made in the window, per processed block",
          "CPU:         process.cpuUsage() of the whole gateway process (all threads): watcher, deadline",
          `             sweep, idle HTTP server${database.kind === "pglite" ? ", PGlite (runs in this process)" : ""}, and the bench's own timers and`,
          "             eth_sendRawTransaction calls (a few per window); not anvil, not the proxy.",
          "             main thread: the same for the main thread alone (/proc/self/task); GC pauses: the",
          "             main thread's garbage-collection pauses (PerformanceObserver 'gc'), part of it.",
          `             With the gateway stopped the process used ${fmt(Math.min(...idle), 1)}-${fmt(Math.max(...idle), 1)} ms of CPU per second (4 x 1 s).`,
          `             One call through viem as the watcher makes it, alone: eth_getBlockByNumber ${fmt(perCall.getBlock, 2)} ms,`,
          `             eth_getLogs by block hash ${fmt(perCall.getLogs, 2)} ms of CPU (${RPC_CALIBRATION_CALLS} calls each, straight to anvil).`,
          "SQL:         statements sent by the gateway (BEGIN and COMMIT included), and their summed wall",
          "             time from call to result",
          "apply:       wall time of the watcher's ingest.apply (one transaction per event)",
          database.kind === "postgres"
            ? "server CPU:  CPU of the PostgreSQL backends serving the gateway's pool (/proc schedstat)"
            : "server CPU:  n/a: PGlite runs inside the gateway process, so it is part of CPU",
          "seeding:     INSERT ... SELECT from generate_series, 10,000 rows per statement, gateway stopped",
        ].join("\n"),
      );
      const last = scale.at(-1);
      if (last && last.blocks > 0) {
        console.log("");
        console.log(
          `SQL statements per processed block at ${last.open.toLocaleString("en-US")} open intents, most time first:`,
        );
        const rows = [["statement", "per block", "ms/block", "ms each"]];
        for (const e of last.breakdown) {
          rows.push([
            e.text.length > 72 ? `${e.text.slice(0, 69)}...` : e.text,
            fmt(e.count / last.blocks, 2),
            fmt(e.ms / last.blocks, 2),
            fmt(e.ms / e.count, 2),
          ]);
        }
        console.log(table(rows, 1));
        console.log("");
        console.log(
          "Their plans (EXPLAIN of the same statement with the parameters it last ran with):",
        );
        for (const e of last.breakdown) {
          if (e.plan)
            console.log(
              `${e.text.length > 72 ? `${e.text.slice(0, 69)}...` : e.text}\n  ${e.plan}`,
            );
        }
      }
    }
  } catch (err) {
    failed = true;
    console.error(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
  } finally {
    // Reverse order: the gateway before the chain and database it uses, the database before its
    // schema or directory.
    for (const [name, fn] of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        failed = true;
        console.error(`cleanup: ${name} failed: ${(err as Error).message}`);
      }
    }
  }
  process.removeListener("SIGINT", onSigint);
  if (abort.signal.aborted) process.exitCode = 130;
  else if (failed) process.exitCode = 1;
}

if (process.argv[2] === "--rpc-proxy") await runRpcProxy(process.argv[3] ?? "");
else await main();
