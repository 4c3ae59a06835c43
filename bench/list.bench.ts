/**
 * The KryptoGO list endpoint (GET /v1/studio/api/payment/intents) at 1,000,000 intents: p50 / p99
 * of BENCH_REPEAT sequential requests for each documented filter and for deep pages (page_number
 * and cursor), over real HTTP with an API key. The intents are seeded in one INSERT ... SELECT
 * generate_series into the real table (another organisation holds a tenth as many, so the
 * organisation's indexes have something to skip), then VACUUM ANALYZE, as autovacuum leaves a
 * live table.
 *
 * Baseline, in the same run and alternating with the gateway request by request: a bare Hono
 * handler on the same database handle that runs the plain SELECT of the same page (the same
 * filters, ORDER BY created_at DESC, id DESC, LIMIT/OFFSET or the same keyset condition) and
 * answers it as JSON: no authentication, no count, no view. Also, in process, what the exact
 * count(*) of each filter costs (the count the endpoint no longer runs).
 *
 *   DATABASE_URL=postgres://... npm run bench:list      (1,000,000 intents; schema bench_*, dropped)
 *   npm run bench:list                                  (PGlite in a temp dir: 100,000 by default)
 *   BENCH_INTENTS=200000 BENCH_REPEAT=100 npm run bench:list
 */
import type { AddressInfo } from "node:net";
import os from "node:os";
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import { type Kysely, sql } from "kysely";
import { pino } from "pino";
import { type Gateway, startGateway } from "../packages/gateway/src/gateway.ts";
import { openBenchDatabase } from "./bench-database.ts";
import { benchGatewayConfig } from "./bench-gateway-config.ts";
import { envDatabaseUrl, envNumber } from "./env-settings.ts";
import { explainPlan } from "./lifecycle/explain-plan.ts";
import { commandLine, fmt, printRunHeader, table } from "./report.ts";
import { runWithCleanups } from "./run-with-cleanups.ts";

const ENV_KEYS = ["DATABASE_URL", "BENCH_INTENTS", "BENCH_REPEAT"];
const DATABASE_URL = envDatabaseUrl();
const INTENTS = envNumber("BENCH_INTENTS", DATABASE_URL ? 1_000_000 : 100_000, 1000);
const REPEAT = envNumber("BENCH_REPEAT", 100, 10);
const PAGE_SIZE = 10;
const ROW_BUDGET_MS = 30_000;
const LIST = "/v1/studio/api/payment/intents";

/**
 * Seeds `count` intents of `orgId` in one statement; row g is deterministic from g. Created over
 * the last 365 days, newer with g. Statuses 45 % success, 35 % expired, 12 % pending, 5 %
 * insufficient_refunded, 3 % insufficient_not_refunded. Clients 60 / 30 / 10 %. group_key: 30 %
 * none, 20 % "buy_stone_with_usdt", 20 % one of 40 "campaign-N-season", 20 % one of 20,000
 * "sku-N", 10 % "order-batch-N" (500 intents each).
 */
function seedStatement(
  orgId: number,
  clients: [string, string, string],
  offset: number,
  count: number,
) {
  const [c1, c2, c3] = clients;
  return sql`
    insert into payment_intents (id, org_id, client_id, payment_chain_id, payment_address,
      deposit_index, token_address, symbol, decimals, crypto_amount, fiat_amount, fiat_currency,
      rate, rate_source, payment_deadline, status, payment_tx_hash, payer_address, order_data,
      group_key, created_at, updated_at)
    select
      'L' || lpad(g::text, 31, '0'),
      ${orgId},
      case when h.c < 6 then ${c1} when h.c < 9 then ${c2} else ${c3} end,
      'arb', '0x' || lpad(to_hex(g), 40, '0'), g,
      '0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9', 'USDT', 6,
      (1000000 + (g % 997) * 1000)::numeric,
      ((1 + g % 997) || '.' || lpad((g % 100)::text, 2, '0')), 'USD', '1', 'static',
      t.at + interval '30 minutes',
      case when h.s < 45 then 'success' when h.s < 80 then 'expired' when h.s < 92 then 'pending'
           when h.s < 97 then 'insufficient_refunded' else 'insufficient_not_refunded' end,
      case when h.s < 45 or h.s >= 92 then '0xaa' || lpad(to_hex(g), 62, '0') end,
      case when h.s < 45 or h.s >= 92 then '0xbb' || lpad(to_hex(g % 5000), 38, '0') end,
      ('{"order_id":"ord-' || g || '"}')::json,
      case when h.k < 30 then null
           when h.k < 50 then 'buy_stone_with_usdt'
           when h.k < 70 then 'campaign-' || (h.n % 40) || '-' || (array['spring','summer','autumn','winter'])[1 + h.n % 4]
           when h.k < 90 then 'sku-' || (h.n % 20000)
           else 'order-batch-' || (g / 500) end,
      t.at, t.at
    from generate_series(${offset + 1}::int, ${offset + count}::int) as g
    cross join lateral (select
      (hashint4(g) & 2147483647) % 100 as s,
      (hashint4(g + 1000000000) & 2147483647) % 10 as c,
      (hashint4(-g) & 2147483647) % 100 as k,
      (hashint4(g # 1431655765) & 2147483647) as n) as h
    cross join lateral (select
      now() - ((${offset + count}::int - g)::float8 * 31536000 / ${count}::int) * interval '1 second'
        - (hashint4(g # 7) & 1023) * interval '1 millisecond' as at) as t`;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** One filter as the endpoint takes it and as the baseline's plain SELECT applies it. */
interface Case {
  name: string;
  query: string;
  where: ReturnType<typeof sql<boolean>>;
  offset: number;
}

function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(server));
    server.once("error", reject);
  });
}

const ok = await runWithCleanups(async (addCleanup) => {
  const { database, db, dataDir, label } = await openBenchDatabase(DATABASE_URL, addCleanup);
  // The API role: no background loops. The gateway's deadline sweep would otherwise expire the
  // seeded pending intents (their deadlines are past) during the run, on PGlite on the one
  // connection the requests wait for (a request of 33 s at 20,000 intents).
  const { config, seed } = benchGatewayConfig(dataDir, { ROLE: "api" });
  const gateway: Gateway = await startGateway({
    config,
    log: pino({ level: "silent" }),
    seed,
    database,
  });
  addCleanup("stop gateway", () => gateway.stop());
  const { tenancy } = gateway.services;
  const makeOrg = async (name: string) => {
    const org = await tenancy.createOrganization({
      name,
      defaultChainId: "arb",
      defaultTokenSymbol: "USDT",
    });
    const clients: string[] = [];
    for (const c of ["web", "app", "kiosk"]) {
      clients.push(
        (await tenancy.createClient({ orgId: org.id, name: c, allowedOrigins: [] })).clientId,
      );
    }
    return { org, clients: clients as [string, string, string] };
  };
  const { org, clients } = await makeOrg("bench");
  const neighbour = await makeOrg("neighbour");
  const apiKey = await tenancy.createApiKey({ orgId: org.id, name: "bench" });

  const seeding = performance.now();
  await seedStatement(org.id, clients, 0, INTENTS).execute(db);
  const seededMs = performance.now() - seeding;
  await seedStatement(neighbour.org.id, neighbour.clients, INTENTS, INTENTS / 10).execute(db);
  const vacuuming = performance.now();
  await sql`vacuum analyze payment_intents`.execute(db);
  const vacuumMs = performance.now() - vacuuming;

  printRunHeader("List payment intents (KryptoGO list endpoint)", commandLine(ENV_KEYS), label, [
    `intents:     ${INTENTS} in the organisation (seeded in ${fmt(seededMs / 1000, 1)} s), ${INTENTS / 10} in another; vacuum analyze ${fmt(vacuumMs / 1000, 1)} s`,
    `requests:    ${REPEAT} per row (after 3 unmeasured; fewer, n, when a row passes ${ROW_BUDGET_MS / 1000} s), one at a time, page_size ${PAGE_SIZE}, gateway and baseline alternating`,
  ]);

  const orgId = org.id;
  const small = clients[2];
  const mid = Math.floor(INTENTS / 2);
  const deepPage = Math.floor(mid / PAGE_SIZE);
  // The key of the row in the middle of the newest-first order, as a cursor would carry it.
  const middle = await sql<{ at: string; id: string }>`
    select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at, id
    from payment_intents where org_id = ${orgId}
    order by created_at desc, id desc offset ${mid - 1} limit 1`.execute(db);
  const key = middle.rows[0];
  if (!key) throw new Error("no middle row");
  const cursorOf = (at: string, id: string) =>
    Buffer.from(JSON.stringify([at, id])).toString("base64url");
  const keyset = sql<boolean>`(created_at, id) < (${key.at}::timestamptz, ${key.id})`;
  const ilike = (s: string) => sql<boolean>`group_key ilike ${`%${s}%`}`;
  const status = (...s: string[]) => sql<boolean>`status in (${sql.join(s)})`;
  const all = sql<boolean>`true`;
  const cases: Case[] = [
    { name: "page 1, no filter", query: "", where: all, offset: 0 },
    { name: "status=success (45 %)", query: "status=success", where: status("success"), offset: 0 },
    {
      name: "status=insufficient_not_refunded (3 %)",
      query: "status=insufficient_not_refunded",
      where: status("insufficient_not_refunded"),
      offset: 0,
    },
    {
      name: "status=pending&status=insufficient_refunded",
      query: "status=pending&status=insufficient_refunded",
      where: status("pending", "insufficient_refunded"),
      offset: 0,
    },
    {
      name: "client_id (10 % client)",
      query: `client_id=${small}`,
      where: sql<boolean>`client_id = ${small}`,
      offset: 0,
    },
    {
      name: "client_id + status=insufficient_refunded",
      query: `client_id=${small}&status=insufficient_refunded`,
      where: sql<boolean>`client_id = ${small} and status = 'insufficient_refunded'`,
      offset: 0,
    },
    {
      name: "group_key=stone (20 %)",
      query: "group_key=stone",
      where: ilike("stone"),
      offset: 0,
    },
    {
      name: "group_key=campaign-17- (0.5 %)",
      query: "group_key=campaign-17-",
      where: ilike("campaign-17-"),
      offset: 0,
    },
    {
      name: "group_key=sku-12345 (rare)",
      query: "group_key=sku-12345",
      where: ilike("sku-12345"),
      offset: 0,
    },
    {
      name: "group_key=nothing-like-it (none)",
      query: "group_key=nothing-like-it",
      where: ilike("nothing-like-it"),
      offset: 0,
    },
    {
      name: "group_key=zq (2 chars, none)",
      query: "group_key=zq",
      where: ilike("zq"),
      offset: 0,
    },
    {
      name: "page_number=4000",
      query: "page_number=4000",
      where: all,
      offset: 3999 * PAGE_SIZE,
    },
    {
      name: `page_number=${deepPage} (the middle)`,
      query: `page_number=${deepPage}`,
      where: all,
      offset: (deepPage - 1) * PAGE_SIZE,
    },
    {
      name: "status=success&page_number=4000",
      query: "status=success&page_number=4000",
      where: status("success"),
      offset: 3999 * PAGE_SIZE,
    },
    {
      name: "cursor (the middle)",
      query: `cursor=${cursorOf(key.at, key.id)}`,
      where: keyset,
      offset: 0,
    },
    {
      name: "cursor (the middle) + status=success",
      query: `cursor=${cursorOf(key.at, key.id)}&status=success`,
      where: sql<boolean>`${keyset} and status = 'success'`,
      offset: 0,
    },
  ];

  const typed = db as Kysely<unknown>;
  const pageQuery = (c: Case) =>
    sql<Record<string, unknown>>`select * from payment_intents
      where org_id = ${orgId} and ${c.where}
      order by created_at desc, id desc limit ${PAGE_SIZE} offset ${c.offset}`;
  const baseline = new Hono();
  baseline.get("/baseline/:i", async (c) => {
    const one = cases[Number(c.req.param("i"))];
    if (!one) return c.json({ code: 4004 }, 404);
    const { rows } = await pageQuery(one).execute(typed);
    return c.json({ code: 0, data: { items: rows } });
  });
  const baselineServer = await listen(baseline.fetch);
  addCleanup(
    "close baseline server",
    () => new Promise<void>((resolve) => baselineServer.close(() => resolve())),
  );
  const baselineUrl = `http://127.0.0.1:${(baselineServer.address() as AddressInfo).port}`;

  const headers = { "x-studio-api-key": apiKey.secret };
  async function timed(url: string, init?: RequestInit) {
    const started = performance.now();
    const res = await fetch(url, init);
    const text = await res.text();
    const took = performance.now() - started;
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${text}`);
    return { took, body: JSON.parse(text) };
  }

  const rows: string[][] = [];
  const plans: string[] = [];
  let worstP99 = 0;
  for (const [i, c] of cases.entries()) {
    const url = `${gateway.url}${LIST}?${c.query}`;
    const gw: number[] = [];
    const base: number[] = [];
    let last: any;
    // A row stops early after ROW_BUDGET_MS (with at least 10 measured): a plain SELECT that
    // takes seconds (a deep OFFSET, a 2-letter substring) says what it needs to in 10.
    const rowStarted = performance.now();
    for (let r = 0; r < REPEAT + 3; r += 1) {
      if (r >= 13 && performance.now() - rowStarted > ROW_BUDGET_MS) break;
      const g = await timed(url, { headers });
      const b = await timed(`${baselineUrl}/baseline/${i}`);
      last = g.body.data;
      if (r >= 3) {
        gw.push(g.took);
        base.push(b.took);
      }
    }
    // Same rows as the plain SELECT: the page is the page.
    const expected = (await pageQuery(cases[i] as Case).execute(typed)).rows.map((r) => r.id);
    const got = last.items.map((it: { payment_intent_id: string }) => it.payment_intent_id);
    if (JSON.stringify(expected) !== JSON.stringify(got)) {
      throw new Error(`${c.name}: the gateway's page differs from the plain SELECT's`);
    }
    const counts: number[] = [];
    let exact = 0;
    for (let r = 0; r < 3; r += 1) {
      const started = performance.now();
      const { rows: n } = await sql<{ n: string }>`select count(*) as n from payment_intents
        where org_id = ${orgId} and ${c.where}`.execute(typed);
      counts.push(performance.now() - started);
      exact = Number(n[0]?.n);
    }
    gw.sort((a, b) => a - b);
    base.sort((a, b) => a - b);
    counts.sort((a, b) => a - b);
    worstP99 = Math.max(worstP99, quantile(gw, 0.99));
    const total =
      last.total_count_exact === false ? `~${last.total_count}` : String(last.total_count);
    console.error(
      `  ${c.name}: gateway p50 ${fmt(quantile(gw, 0.5), 1)} ms, baseline p50 ${fmt(quantile(base, 0.5), 1)} ms (${gw.length} each)`,
    );
    rows.push([
      c.name,
      String(gw.length),
      String(exact),
      total,
      fmt(quantile(gw, 0.5), 1),
      fmt(quantile(gw, 0.99), 1),
      fmt(quantile(base, 0.5), 1),
      fmt(quantile(base, 0.99), 1),
      `${fmt(quantile(gw, 0.5) / quantile(base, 0.5), 2)}x`,
      `${fmt(quantile(gw, 0.99) / quantile(base, 0.99), 2)}x`,
      fmt(quantile(counts, 0.5), 0),
    ]);
    const compiled = pageQuery(c).compile(typed);
    plans.push(`${c.name}: ${await explainPlan(typed, compiled.sql, [...compiled.parameters])}`);
  }

  console.log(
    table(
      [
        [
          "request",
          "n",
          "matches",
          "total_count",
          "gw p50",
          "gw p99",
          "base p50",
          "base p99",
          "p50 ratio",
          "p99 ratio",
          "count(*) ms",
        ],
        ...rows,
      ],
      1,
    ),
  );
  console.log("");
  console.log("times in ms; ratio = gateway / baseline (the plain SELECT of the same page)");
  console.log("baseline plans (EXPLAIN of the plain SELECT, nodes only):");
  for (const line of plans) console.log(`  ${line}`);
  console.log("");
  console.log(`worst gateway p99: ${fmt(worstP99, 1)} ms (the goal: under 50 ms on PostgreSQL)`);
  console.log(
    `load avg at the end: ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(" ")}`,
  );
});
process.exit(ok ? 0 : 1);
