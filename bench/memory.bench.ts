/**
 * Resident memory of the sandbox (`stablegate dev`, what `npm start` runs after building the
 * pages): the gateway process and its anvil, each read from /proc/<pid>/status (VmRSS now, VmHWM
 * the peak), idle after a first start on an empty DATA_DIR, idle after N payments created through
 * the API and paid on the local chain, and idle after a restart on the same DATA_DIR. On PGlite,
 * and on PostgreSQL when DATABASE_URL is set (a database of its own, created and dropped), which
 * is the baseline the PGlite figures are divided by. Linux only (/proc). See docs/benchmarks.md.
 *
 *   npm run bench:memory                                          (PGlite only)
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:memory   (both)
 *   BENCH_PAYMENTS=20 BENCH_SETTLE_MS=15000 npm run bench:memory
 *
 * The pages are built first, as `npm start` does. BENCH_ROOT=<checkout> runs that checkout's
 * sandbox instead of this one's (a worktree of an older commit, for before and after).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { SandboxFile } from "../packages/gateway/src/sandbox/sandbox.ts";
import { paySandboxIntent } from "../packages/gateway/src/sandbox/sandbox-pay.ts";
import { envDatabaseUrl, envNumber } from "./env-settings.ts";
import { commandLine, fmt, printRunHeader, redactUrl, table } from "./report.ts";
import { type AddCleanup, runWithCleanups } from "./run-with-cleanups.ts";

const ENV_KEYS = ["DATABASE_URL", "BENCH_PAYMENTS", "BENCH_SETTLE_MS", "BENCH_ROOT"];
/** The goal: the sandbox's gateway process, idle, on PGlite. */
const GOAL_MB = 350;

const payments = envNumber("BENCH_PAYMENTS", 20, 0);
// Long enough for the start's garbage to be collected and the loops to reach their steady pace.
const settleMs = envNumber("BENCH_SETTLE_MS", 15_000, 0);
const databaseUrl = envDatabaseUrl();
// Another checkout's sandbox (an older commit's worktree, to compare before and after a change).
const root = path.resolve(process.env.BENCH_ROOT || fileURLToPath(new URL("..", import.meta.url)));
const bin = path.join(root, "packages/gateway/bin/stablegate.js");
// The node flags `npm start` runs the sandbox with (package.json), so this measures what it runs.
const START_NODE_FLAGS = (() => {
  const { scripts } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
  const flags = /node ((?:--\S+ )*)packages\/gateway\/bin\/stablegate\.js dev/.exec(scripts.start);
  if (!flags) throw new Error(`npm start no longer runs stablegate.js dev: ${scripts.start}`);
  return (flags[1] ?? "").split(" ").filter((f: string) => f !== "");
})();
const READY = /Stablegate sandbox is running/;
const START_TIMEOUT_MS = 180_000;
const PAYMENT_TIMEOUT_MS = 60_000;

interface Sample {
  phase: string;
  gatewayRss: number;
  gatewayHwm: number;
  anvilRss: number;
}

/** VmRSS and VmHWM in MB, or NaN once the process is gone. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, "m"))?.[1]);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return { rss: Number.NaN, hwm: Number.NaN };
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

interface RunningSandbox {
  child: ChildProcess;
  anvilPid: number;
  file: SandboxFile;
  stop(): Promise<void>;
}

async function startSandbox(dataDir: string, url: string | undefined): Promise<RunningSandbox> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(await freePort()),
    ANVIL_PORT: String(await freePort()),
    LOG_LEVEL: "warn",
  };
  if (url === undefined) delete env.DATABASE_URL;
  else env.DATABASE_URL = url;
  const child = spawn(process.execPath, [...START_NODE_FLAGS, bin, "dev"], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = once(child, "exit");
  const ready = (async () => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!READY.test(output)) {
      if (child.exitCode !== null) throw new Error(`the sandbox exited:\n${output}`);
      if (Date.now() > deadline) throw new Error(`the sandbox did not start:\n${output}`);
      await sleep(200);
    }
  })();
  try {
    await ready;
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  const file = JSON.parse(await readFile(path.join(dataDir, "sandbox.json"), "utf8"));
  const anvilPid = Number((await readFile(path.join(dataDir, "anvil.pid"), "utf8")).trim());
  return {
    child,
    anvilPid,
    file,
    async stop() {
      if (child.exitCode === null) child.kill("SIGINT");
      await exited;
    },
  };
}

async function sample(phase: string, sandbox: RunningSandbox): Promise<Sample> {
  await sleep(settleMs);
  const gateway = memoryOf(sandbox.child.pid ?? 0);
  const anvil = memoryOf(sandbox.anvilPid);
  return { phase, gatewayRss: gateway.rss, gatewayHwm: gateway.hwm, anvilRss: anvil.rss };
}

async function api(file: SandboxFile, method: string, route: string, body?: unknown) {
  const res = await fetch(`${file.api_base_url}${route}`, {
    method,
    headers: {
      "Content-Type": "application/json",
      "X-Client-ID": file.client_id,
      "X-STUDIO-API-KEY": file.api_key,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const answer = (await res.json()) as { code: number; message?: string; data?: any };
  if (answer.code !== 0) throw new Error(`${method} ${route}: ${answer.message ?? res.status}`);
  return answer.data;
}

/** Creates and pays `n` intents one after another, each waited for until it succeeds. */
async function pay(sandbox: RunningSandbox, dataDir: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const created = await api(sandbox.file, "POST", "/v1/studio/api/payment/intent", {
      fiat_amount: "300.0",
      fiat_currency: "TWD",
      order_data: { order_id: `memory-${i}` },
    });
    const id = created.payment_intent_id as string;
    await paySandboxIntent({ dataDir, paymentIntentId: id });
    const deadline = Date.now() + PAYMENT_TIMEOUT_MS;
    for (;;) {
      const intent = await api(sandbox.file, "GET", `/v1/studio/api/payment/intent/${id}`);
      if (intent.status === "success") break;
      if (Date.now() > deadline) throw new Error(`intent ${id} still ${intent.status}`);
      await sleep(250);
    }
  }
}

async function runOn(label: string, url: string | undefined, addCleanup: AddCleanup) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "stablegate-bench-memory-"));
  addCleanup(`remove ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }));
  const samples: Sample[] = [];
  let sandbox = await startSandbox(dataDir, url);
  let stop = sandbox.stop;
  addCleanup(`stop the ${label} sandbox`, () => stop());
  samples.push(await sample("idle after the first start", sandbox));
  await pay(sandbox, dataDir, payments);
  samples.push(await sample(`idle after ${payments} payments`, sandbox));
  await sandbox.stop();
  sandbox = await startSandbox(dataDir, url);
  stop = sandbox.stop;
  samples.push(await sample("idle after a restart", sandbox));
  await sandbox.stop();
  return samples;
}

/** A database of its own on the server, so the sandbox's public schema cannot meet anyone's. */
async function createBenchDatabase(url: string, addCleanup: AddCleanup): Promise<string> {
  const name = `bench_memory_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  addCleanup(`drop database ${name}`, async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`drop database if exists ${name} with (force)`);
    } finally {
      await c.end();
    }
  });
  const own = new URL(url);
  own.pathname = `/${name}`;
  return own.toString();
}

const cmd = commandLine(ENV_KEYS);
printRunHeader(
  "bench:memory: resident memory of the sandbox (stablegate dev), gateway and anvil",
  cmd,
  databaseUrl
    ? `PGlite (temp DATA_DIR), then PostgreSQL ${redactUrl(databaseUrl)} (a database of its own, dropped at the end) as the baseline`
    : "PGlite (temp DATA_DIR); set DATABASE_URL for the PostgreSQL baseline",
  [
    `sandbox:     node ${[...START_NODE_FLAGS, bin].join(" ")} dev (what npm start runs)`,
    `payments:    ${payments}, each created through the API and paid on the local chain`,
  ],
);

for (const script of ["packages/web/scripts/build.mjs", "packages/studio/scripts/build.mjs"]) {
  execFileSync(process.execPath, [script], { cwd: root, stdio: "ignore" });
}

const results: Array<{ label: string; samples: Sample[] }> = [];
const ok = await runWithCleanups(async (addCleanup) => {
  results.push({ label: "PGlite", samples: await runOn("PGlite", undefined, addCleanup) });
  if (databaseUrl) {
    const url = await createBenchDatabase(databaseUrl, addCleanup);
    results.push({ label: "PostgreSQL", samples: await runOn("PostgreSQL", url, addCleanup) });
  }
});

const baseline = results.find((r) => r.label === "PostgreSQL");
const rows = [["database", "phase", "gateway RSS MB", "gateway peak MB", "anvil RSS MB", "÷ PG"]];
for (const { label, samples } of results) {
  for (const [i, s] of samples.entries()) {
    const base = baseline?.samples[i]?.gatewayRss;
    rows.push([
      label,
      s.phase,
      fmt(s.gatewayRss),
      fmt(s.gatewayHwm),
      fmt(s.anvilRss),
      base === undefined ? "" : `${fmt(s.gatewayRss / base, 2)}x`,
    ]);
  }
}
console.log(table(rows, 2));
const loadavg = os
  .loadavg()
  .map((n) => n.toFixed(2))
  .join(" ");
console.log(`\nload avg:    ${loadavg} (1, 5, 15 min, at the end)`);
const pglite = results.find((r) => r.label === "PGlite")?.samples;
if (pglite && pglite.length > 0) {
  const worst = Math.max(...pglite.map((s) => s.gatewayRss));
  console.log(
    `goal:        gateway idle on PGlite <= ${GOAL_MB} MB: ${worst <= GOAL_MB ? "met" : "not met"} (worst idle ${fmt(worst)} MB)`,
  );
}
process.exitCode = ok ? 0 : 1;
