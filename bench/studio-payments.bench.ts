/**
 * Studio's payments list (GET /v1/admin/orgs/{orgId}/payments) at 100,000 intents: every filter
 * and sort timed over HTTP with a real Studio session (p50 / p99 of BENCH_REPEAT requests each),
 * and each one's query plan, to show which index it uses. The intents are seeded in one
 * INSERT ... SELECT generate_series (a second organisation holds another quarter as many, so the
 * organisation's own indexes have something to skip).
 *
 *   npm run bench:studio                                    (PGlite in a temp dir)
 *   DATABASE_URL=postgres://... npm run bench:studio        (schema bench_*, dropped at the end)
 *   BENCH_INTENTS=100000 BENCH_REPEAT=50 npm run bench:studio
 */
import os from "node:os";
import { sql } from "kysely";
import {
  createPaymentSearch,
  PaymentSearchQuery,
} from "../packages/gateway/src/admin/payments/payment-search.ts";
import { signInAs } from "../packages/gateway/src/testing/studio-client.ts";
import { startBenchGateway } from "./bench-gateway.ts";
import { explainPlan } from "./lifecycle/explain-plan.ts";
import { commandLine, fmt, printRunHeader, table } from "./report.ts";
import { runWithCleanups } from "./run-with-cleanups.ts";

const ENV_KEYS = ["DATABASE_URL", "BENCH_INTENTS", "BENCH_REPEAT"];
const INTENTS = Number(process.env.BENCH_INTENTS ?? 100_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 50);

/** Seeds `count` intents of `orgId` in one statement; row i is deterministic from i. */
function seedStatement(orgId: number, clientId: string, offset: number, count: number) {
  // Status: 40% success, 40% expired, 15% pending, 5% insufficient; one in 10 has a group key,
  // every one an order id; paid ones a payer and a tx hash. Created over the last 90 days.
  return sql`
    insert into payment_intents (id, org_id, client_id, payment_chain_id, payment_address,
      deposit_index, token_address, symbol, decimals, crypto_amount, fiat_amount, fiat_currency,
      rate, rate_source, payment_deadline, status, payment_tx_hash, payer_address, order_data,
      group_key, created_at, updated_at)
    select
      'bench' || lpad(g::text, 27, '0'),
      ${orgId}, ${clientId}, 'arb',
      '0x' || lpad(to_hex(g), 40, '0'),
      g, '0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9', 'USDT', 6,
      (1000000 + (g % 997) * 1000)::numeric,
      ((1 + g % 997) || '.' || lpad((g % 100)::text, 2, '0')),
      'USD', '1', 'static',
      now() - ((g % 90) || ' days')::interval + interval '30 minutes',
      (array['success','expired','success','expired','pending','success','expired','success','expired','pending',
             'success','expired','success','expired','pending','success','expired','insufficient_not_refunded','expired','success'])[1 + g % 20],
      case when g % 20 in (0,2,5,7,10,12,15,19) then '0xaa' || lpad(to_hex(g), 62, '0') end,
      case when g % 20 in (0,2,5,7,10,12,15,19) then '0xbb' || lpad(to_hex(g % 5000), 38, '0') end,
      ('{"order_id":"ord-' || g || '","sku":"x"}')::json,
      case when g % 10 = 0 then 'campaign-' || (g % 37) || '-autumn' end,
      now() - ((g % 90) || ' days')::interval - (g || ' seconds')::interval,
      now()
    from generate_series(${offset + 1}::int, ${offset + count}::int) as g`;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const ok = await runWithCleanups(async (addCleanup) => {
  const { db, label, gateway, org, client } = await startBenchGateway(addCleanup);
  const { tenancy } = gateway.services;
  const neighbour = await tenancy.createOrganization({
    name: "neighbour",
    defaultChainId: "arb",
    defaultTokenSymbol: "USDT",
  });
  const neighbourClient = await tenancy.createClient({
    orgId: neighbour.id,
    name: "web",
    allowedOrigins: [],
  });

  const seeding = performance.now();
  await seedStatement(org.id, client.clientId, 0, INTENTS).execute(db);
  await seedStatement(neighbour.id, neighbourClient.clientId, INTENTS, INTENTS / 4).execute(db);
  await sql`analyze payment_intents`.execute(db);
  const seededMs = performance.now() - seeding;

  printRunHeader("Studio payments list", commandLine(ENV_KEYS), label, [
    `intents:     ${INTENTS} in the organisation, ${INTENTS / 4} in another; seeded in ${fmt(seededMs / 1000, 1)} s`,
    `requests:    ${REPEAT} per filter (after 3 unmeasured), one at a time, page_size 50`,
  ]);

  const owner = await signInAs(gateway, { orgId: org.id, role: "owner" });
  const mid = Math.floor(INTENTS / 2);
  const day = (daysAgo: number) =>
    new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
  const cases: [string, string][] = [
    ["no filter (newest first)", ""],
    ["status=pending", "status=pending"],
    [
      "status=insufficient_not_refunded,insufficient_refunded",
      "status=insufficient_not_refunded,insufficient_refunded",
    ],
    ["from/to (one week)", `from=${day(20)}&to=${day(14)}`],
    ["group_key substring", "group_key=-17-autumn"],
    ["group_key, no match", "group_key=nothing-like-it"],
    ["client_id", `client_id=${client.clientId}`],
    ["order_id", `order_id=ord-${mid}`],
    ["address (deposit)", `address=0x${mid.toString(16).padStart(40, "0")}`],
    ["address (payer)", `address=0xbb${(20 % 5000).toString(16).padStart(38, "0")}`],
    ["tx_hash", `tx_hash=0xaa${(20).toString(16).padStart(62, "0")}`],
    ["sort=fiat_amount", "sort=fiat_amount"],
    ["sort=-fiat_amount + status=success", "sort=-fiat_amount&status=success"],
    ["sort=created_at (oldest first)", "sort=created_at"],
    ["page 100 (offset 4950)", "page_number=100"],
    [
      "status=success + from/to + sort",
      `status=success&from=${day(60)}&to=${day(30)}&sort=-fiat_amount`,
    ],
  ];

  const search = createPaymentSearch({ db: gateway.database.db });
  // What any admin request costs before the list's own work: the session, CSRF-free GET, HTTP.
  const sessionTimes: number[] = [];
  for (let i = 0; i < REPEAT + 3; i += 1) {
    const started = performance.now();
    await owner.request("GET", "/v1/admin/session");
    if (i >= 3) sessionTimes.push(performance.now() - started);
  }
  sessionTimes.sort((a, b) => a - b);
  const rows: string[][] = [];
  const plans: string[] = [];
  let worst = 0;
  for (const [name, query] of cases) {
    const url = `/v1/admin/orgs/${org.id}/payments?page_size=50&${query}`;
    const times: number[] = [];
    let total = 0;
    for (let i = 0; i < REPEAT + 3; i += 1) {
      const started = performance.now();
      const res = await owner.request("GET", url);
      const took = performance.now() - started;
      if (res.status !== 200) throw new Error(`${name}: ${res.status} ${res.text}`);
      total = res.body.data.total_count;
      if (i >= 3) times.push(took);
    }
    times.sort((a, b) => a - b);
    worst = Math.max(worst, quantile(times, 0.99));
    // The same search called in process: the database's share, without HTTP and the session.
    const parsed = PaymentSearchQuery.parse(
      Object.fromEntries(new URLSearchParams(`page_size=50&${query}`)),
    );
    const direct: number[] = [];
    for (let i = 0; i < REPEAT; i += 1) {
      const started = performance.now();
      await search.list(org.id, parsed);
      direct.push(performance.now() - started);
    }
    direct.sort((a, b) => a - b);
    rows.push([
      name,
      String(total),
      fmt(quantile(times, 0.5), 1),
      fmt(quantile(times, 0.99), 1),
      fmt(quantile(direct, 0.5), 1),
      fmt(quantile(direct, 0.99), 1),
    ]);

    const { page, count } = await search.statements(org.id, parsed);
    plans.push(`${name}:`);
    plans.push(`  page:  ${await explainPlan(db, page.sql, [...page.parameters])}`);
    plans.push(`  count: ${await explainPlan(db, count.sql, [...count.parameters])}`);
  }

  console.log(
    `GET /v1/admin/session (the floor of any admin request): p50 ${fmt(quantile(sessionTimes, 0.5), 1)} ms, p99 ${fmt(quantile(sessionTimes, 0.99), 1)} ms`,
  );
  console.log(
    table(
      [["filter", "total_count", "HTTP p50", "HTTP p99", "query p50", "query p99"], ...rows],
      1,
    ),
  );
  console.log("");
  console.log("query plans (EXPLAIN, nodes only):");
  for (const line of plans) console.log(line);
  console.log("");
  console.log(`worst HTTP p99: ${fmt(worst, 1)} ms (the target is under 100 ms on PostgreSQL)`);
  console.log(
    `load avg at the end: ${os
      .loadavg()
      .map((n) => n.toFixed(2))
      .join(" ")}`,
  );
});
process.exit(ok ? 0 : 1);
