/**
 * Payment-intents API under load, against baselines measured in the same run on the same
 * database handle: a bare Hono app that does one INSERT / one SELECT by primary key on a table of
 * the same width, and one that inserts the intent into a copy of the real table (its indexes,
 * constraints and foreign keys) with its history row, in one statement. The ratios
 * gateway/baseline are the figures to compare between runs; absolute numbers depend on the
 * machine. Create is also run at a fixed rate of half its measured maximum, for its latency
 * under a load it can carry. See docs/benchmarks.md.
 *
 *   npm run bench                                               (PGlite in a temp dir)
 *   DATABASE_URL=postgres://... npm run bench                   (PostgreSQL, schema bench_<random>)
 *   BENCH_DURATION=10 BENCH_CONNECTIONS=10 BENCH_WARMUP=2 npm run bench
 */
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { type ServerType, serve } from "@hono/node-server";
import autocannon from "autocannon";
import { Hono } from "hono";
import { sql } from "kysely";
import { pino } from "pino";
import { createDepositAddresses } from "../packages/gateway/src/chain/deposit-addresses.ts";
import { type Gateway, startGateway } from "../packages/gateway/src/gateway.ts";
import type { AppEnv } from "../packages/gateway/src/http/openapi.ts";
import { createRateLimits } from "../packages/gateway/src/http/rate-limits.ts";
import type { Caller } from "../packages/gateway/src/organizations/tenancy-service.ts";
import { startBenchGateway } from "./bench-gateway.ts";
import { benchGatewayConfig, RATE_LIMITS_OFF } from "./bench-gateway-config.ts";
import { envNumber } from "./env-settings.ts";
import { BASELINE_DDL, createBaseline, REAL_COPY_DDL } from "./intent-baselines.ts";
import { commandLine, fmt, printRunHeader, table } from "./report.ts";
import { runWithCleanups } from "./run-with-cleanups.ts";

const CREATE_BODY = {
  fiat_amount: "300.0",
  fiat_currency: "TWD",
  order_data: { order_id: "uid_12345" },
  group_key: "bench",
} as const;
// The body quotes TWD, which the static provider prices only when told its rate (the baseline's).
const TWD_RATE = { RATES_TWD_PER_USD: "32.5" };
const ENV_KEYS = ["DATABASE_URL", "BENCH_DURATION", "BENCH_CONNECTIONS", "BENCH_WARMUP"] as const;
// Long enough for hundreds of calls of the slowest operation, short enough not to dominate.
const PROFILE_MS = 1000;

interface Settings {
  duration: number;
  warmup: number;
  connections: number;
}

interface Scenario {
  name: string;
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  body?: string;
}

interface Measured {
  scenario: Scenario;
  result: autocannon.Result;
}

function readSettings(): Settings {
  return {
    duration: envNumber("BENCH_DURATION", 10, 1),
    warmup: envNumber("BENCH_WARMUP", 2, 0),
    connections: envNumber("BENCH_CONNECTIONS", 10, 1),
  };
}

const probes = new Map<boolean, Hono<AppEnv>>();
/** What counting one request costs: the caller and address limits on a Hono app that does nothing. */
function limitProbe(limited: boolean): Hono<AppEnv> {
  let app = probes.get(limited);
  if (app) return app;
  app = new Hono<AppEnv>();
  const on = 1_000_000_000;
  const limits = createRateLimits({
    windowSeconds: 60,
    perApiKey: limited ? on : 0,
    perClient: limited ? on : 0,
    perIp: limited ? on : 0,
    trustProxy: 0,
  });
  app.use("*", async (c, next) => {
    c.set("caller", { kind: "api_key", orgId: 1, apiKeyId: 1, client: undefined });
    await next();
  });
  app.use("*", limits.perIp, limits.perCaller);
  app.get("/x", (c) => c.text("ok"));
  probes.set(limited, app);
  return app;
}

function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(server));
    server.once("error", reject);
  });
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}

/** Sends one request and returns its status and parsed body; throws unless it is 2xx with code 0. */
async function call(s: Scenario): Promise<Record<string, unknown>> {
  const res = await fetch(s.url, {
    method: s.method,
    headers: s.headers,
    ...(s.body === undefined ? {} : { body: s.body }),
  });
  const text = await res.text();
  if (res.status < 200 || res.status > 299)
    throw new Error(
      `${s.name}: ${s.method} ${s.url} answered ${res.status}: ${text.slice(0, 500)}`,
    );
  const json = JSON.parse(text) as { code?: unknown; data?: Record<string, unknown> };
  if (json.code !== 0 || json.data === undefined)
    throw new Error(`${s.name}: unexpected body ${text.slice(0, 500)}`);
  return json.data;
}

let current: autocannon.Instance | undefined;
let interrupt: ((err: Error) => void) | undefined;
let interrupted = false;

async function load(
  s: Scenario,
  seconds: number,
  connections: number,
  phase: string,
  overallRate?: number,
): Promise<autocannon.Result> {
  const instance = autocannon({
    ...(overallRate === undefined ? {} : { overallRate }),
    url: s.url,
    method: s.method,
    headers: s.headers,
    ...(s.body === undefined ? {} : { body: s.body }),
    duration: seconds,
    connections,
    timeout: 10,
    // Its own thread: the load generator must not share the event loop it is measuring.
    workers: 1,
  });
  current = instance;
  try {
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      interrupt = reject;
      instance.on("error", reject);
      instance.then(resolve, reject);
    });
    await check(s, result, phase);
    return result;
  } finally {
    current = undefined;
    interrupt = undefined;
  }
}

async function check(s: Scenario, r: autocannon.Result, phase: string): Promise<void> {
  if (r.non2xx === 0 && r.errors === 0 && r.timeouts === 0 && r["2xx"] > 0) return;
  const codes = Object.entries(r.statusCodeStats)
    .map(([status, { count }]) => `${status}: ${count}`)
    .join(", ");
  let sample: string;
  try {
    await call(s);
    sample = "a request sent afterwards succeeded";
  } catch (err) {
    sample = `a request sent afterwards: ${(err as Error).message}`;
  }
  throw new Error(
    `${s.name} (${phase}): ${r["2xx"]} 2xx, ${r.non2xx} non-2xx (by status: ${codes || "none"}), ` +
      `${r.errors} errors, ${r.timeouts} timeouts; ${sample}`,
  );
}

/** Mean and median time of one call, calls made one after another for about `ms`. */
async function perCall(
  fn: (i: number) => unknown,
  ms: number,
): Promise<{ mean: number; p50: number; n: number }> {
  for (let i = 0; i < 20; i++) await fn(i);
  const times: number[] = [];
  const until = performance.now() + ms;
  for (let i = 0; performance.now() < until || times.length < 20; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  return { mean, p50: times[Math.floor(times.length / 2)] ?? Number.NaN, n: times.length };
}

const ratio = (a: number, b: number) =>
  b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : "n/a";

async function main(): Promise<void> {
  const settings = readSettings();
  const cmd = commandLine(ENV_KEYS);

  // Ctrl-C stops the load and still runs the cleanup (drops the schema); a second one exits.
  const onSigint = () => {
    if (interrupted || !interrupt) process.exit(130);
    interrupted = true;
    current?.stop();
    interrupt(new Error("interrupted"));
  };
  process.on("SIGINT", onSigint);

  const ok = await runWithCleanups(async (addCleanup) => {
    // ---- gateway ----------------------------------------------------------------------------
    const { database, db, dataDir, label, gateway, seed, org, client, apiKey } =
      await startBenchGateway(addCleanup, TWD_RATE);
    // The same gateway on the same database with the rate limits off: what counting costs.
    const unlimited: Gateway = await startGateway({
      config: benchGatewayConfig(dataDir, { ...RATE_LIMITS_OFF, ...TWD_RATE }).config,
      log: pino({ level: "silent" }),
      seed,
      database,
    });
    addCleanup("stop unlimited gateway", () => unlimited.stop());
    const { tenancy, intents } = gateway.services;

    // ---- baseline ---------------------------------------------------------------------------
    await sql.raw(BASELINE_DDL).execute(db);
    for (const ddl of REAL_COPY_DDL) await sql.raw(ddl).execute(db);
    const baseline = createBaseline(db, { orgId: org.id, clientId: client.clientId });
    const baselineServer = await listen(baseline.app.fetch);
    addCleanup("close baseline server", () => closeServer(baselineServer));
    const baselineUrl = `http://127.0.0.1:${(baselineServer.address() as AddressInfo).port}`;

    // ---- scenarios --------------------------------------------------------------------------
    const auth = { "x-studio-api-key": apiKey };
    const json = { "content-type": "application/json" };
    const body = JSON.stringify(CREATE_BODY);
    const create: Scenario = {
      name: "gateway create",
      method: "POST",
      url: `${gateway.url}/v1/studio/api/payment/intent`,
      headers: { ...auth, ...json },
      body,
    };
    const insert: Scenario = {
      name: "baseline insert",
      method: "POST",
      url: `${baselineUrl}/baseline`,
      headers: json,
      body,
    };
    const insertReal: Scenario = {
      name: "baseline real insert",
      method: "POST",
      url: `${baselineUrl}/baseline/real`,
      headers: json,
      body,
    };
    // One request of each first: a wrong setup fails here with the response, not as a count.
    const intentId = String((await call(create)).payment_intent_id);
    const baselineId = String((await call(insert)).id);
    await call(insertReal);
    const get: Scenario = {
      name: "gateway get",
      method: "GET",
      url: `${gateway.url}/v1/studio/api/payment/intent/${intentId}`,
      headers: auth,
    };
    const select: Scenario = {
      name: "baseline select",
      method: "GET",
      url: `${baselineUrl}/baseline/${baselineId}`,
      headers: {},
    };
    const createUnlimited: Scenario = {
      ...create,
      name: "gateway create, no rate limits",
      url: `${unlimited.url}/v1/studio/api/payment/intent`,
    };
    const getUnlimited: Scenario = {
      ...get,
      name: "gateway get, no rate limits",
      url: `${unlimited.url}/v1/studio/api/payment/intent/${intentId}`,
    };
    await call(get);
    await call(select);
    await call(getUnlimited);

    printRunHeader("Stablegate payment-intents benchmark", cmd, label, [
      `load:        autocannon, ${settings.connections} connections, ${settings.warmup} s warm-up + ${settings.duration} s measured per row, one worker thread`,
    ]);

    // Gateway and baseline alternate so a noisy neighbour on a shared machine hits both sides of
    // a ratio alike.
    const measured: Measured[] = [];
    for (const s of [create, insertReal, createUnlimited, insert, get, getUnlimited, select]) {
      process.stderr.write(`running ${s.name}...\n`);
      if (settings.warmup > 0) await load(s, settings.warmup, settings.connections, "warm-up");
      measured.push({
        scenario: s,
        result: await load(s, settings.duration, settings.connections, "measured"),
      });
    }
    // Latency under a load each side can carry: half its own measured maximum, at a fixed rate.
    for (const s of [create, insertReal]) {
      const max = measured.find((m) => m.scenario === s)?.result.requests.average ?? 0;
      const rate = Math.max(1, Math.round(max / 2));
      const half: Scenario = { ...s, name: `${s.name} at half load (${rate}/s)` };
      process.stderr.write(`running ${half.name}...\n`);
      measured.push({
        scenario: half,
        result: await load(half, settings.duration, settings.connections, "half load", rate),
      });
    }

    // ---- per-call costs, one at a time, no HTTP -----------------------------------------------
    process.stderr.write("timing single calls...\n");
    const caller = (await tenancy.authenticate({
      apiKey: apiKey,
      clientId: undefined,
      origin: undefined,
    })) as Caller;
    const addresses = createDepositAddresses(seed);
    const profile: Array<[string, { mean: number; p50: number; n: number }]> = [
      [
        "select 1 (one database round trip)",
        await perCall(() => sql`select 1`.execute(db), PROFILE_MS),
      ],
      [
        "HD derivation (addressAt)",
        await perCall((i) => addresses.addressAt(1_000_000 + i), PROFILE_MS),
      ],
      [
        "authenticate (API key lookup)",
        await perCall(
          () => tenancy.authenticate({ apiKey: apiKey, clientId: undefined, origin: undefined }),
          PROFILE_MS,
        ),
      ],
      [
        "intents.create (service, no HTTP)",
        await perCall(() => intents.create(caller, CREATE_BODY), PROFILE_MS),
      ],
      [
        "intents.get (service, no HTTP)",
        await perCall(() => intents.get(caller, intentId), PROFILE_MS),
      ],
      [
        "a bare Hono app (app.request, no HTTP)",
        await perCall(() => limitProbe(false).request("/x"), PROFILE_MS),
      ],
      [
        "the same with the rate limits counted",
        await perCall(() => limitProbe(true).request("/x"), PROFILE_MS),
      ],
      ["baseline INSERT (SQL only)", await perCall(() => baseline.insert(CREATE_BODY), PROFILE_MS)],
      [
        "baseline real INSERT + history (SQL only)",
        await perCall(() => baseline.insertReal(CREATE_BODY), PROFILE_MS),
      ],
      ["baseline SELECT (SQL only)", await perCall(() => baseline.select(baselineId), PROFILE_MS)],
    ];

    // ---- report -------------------------------------------------------------------------------
    const byName = new Map(measured.map((m) => [m.scenario.name, m.result]));
    const rows = [["row", "request", "req/s", "p50 ms", "p99 ms", "requests"]];
    for (const { scenario: s, result: r } of measured) {
      const target = s.url.replace(/^http:\/\/[^/]+/, "");
      rows.push([
        s.name,
        `${s.method} ${target.length > 40 ? `${target.slice(0, 37)}...` : target}`,
        fmt(r.requests.average),
        fmt(r.latency.p50),
        fmt(r.latency.p99),
        String(r["2xx"]),
      ]);
    }
    console.log(table(rows, 2));
    console.log("");
    const ratioRows = [["gateway / baseline", "req/s", "p50", "p99"]];
    const halfOf = (name: string) =>
      measured.find((m) => m.scenario.name.startsWith(`${name} at half load`))?.scenario.name ?? "";
    for (const [gw, base] of [
      ["gateway create", "baseline real insert"],
      ["gateway create, no rate limits", "baseline real insert"],
      [halfOf("gateway create"), halfOf("baseline real insert")],
      ["gateway create", "baseline insert"],
      ["gateway create, no rate limits", "baseline insert"],
      ["gateway get", "baseline select"],
      ["gateway get, no rate limits", "baseline select"],
    ] as const) {
      const a = byName.get(gw);
      const b = byName.get(base);
      if (!a || !b) continue;
      ratioRows.push([
        `${gw.replace("gateway ", "").replace(/ \(.*\)$/, "")} / ${base.replace("baseline ", "").replace(/ \(.*\)$/, "")}`,
        ratio(a.requests.average, b.requests.average),
        ratio(a.latency.p50, b.latency.p50),
        ratio(a.latency.p99, b.latency.p99),
      ]);
    }
    console.log(table(ratioRows, 1));
    console.log("");
    const pool = gateway.services.depositAddresses;
    console.log(
      `deposit addresses derived on the derivation thread (creates busy): ${pool.derivedOffThread}`,
    );
    console.log("");
    console.log("single calls, one at a time, in process (no HTTP, no concurrency):");
    const profileRows = [["call", "mean ms", "p50 ms", "calls"]];
    for (const [name, p] of profile)
      profileRows.push([name, fmt(p.mean, 3), fmt(p.p50, 3), String(p.n)]);
    console.log(table(profileRows, 1));
  });
  process.removeListener("SIGINT", onSigint);
  if (interrupted) process.exit(130); // an interrupted autocannon worker would keep the process up
  if (!ok) process.exitCode = 1;
}

await main();
