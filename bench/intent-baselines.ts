/**
 * The baselines of the intent benchmarks (npm run bench, npm run bench:create): a bare Hono app
 * on the gateway's database handle that inserts the gateway's row into a plain table, or into a
 * copy of the real table with its history row, and selects by key.
 */
import { randomBytes } from "node:crypto";
import { Hono } from "hono";
import { CompiledQuery, type Kysely, sql } from "kysely";
import { prepareStatement } from "../packages/gateway/src/platform/database/prepared-statements.ts";

// The baseline table has the columns and types of payment_intents but only a primary key: no
// foreign keys, unique constraints, checks or secondary indexes, no sequence, no history row.
export const BASELINE_DDL = `create table bench_intents (
  id text primary key,
  org_id integer not null,
  client_id text not null,
  payment_chain_id text not null,
  payment_address text not null,
  deposit_index integer not null,
  token_address text not null,
  symbol text not null,
  decimals integer not null,
  crypto_amount numeric(78, 0) not null,
  fiat_amount text not null,
  fiat_currency text not null,
  rate text not null,
  rate_source text not null,
  payment_deadline timestamptz not null,
  status text not null,
  payment_tx_hash text,
  payment_tx_timestamp timestamptz,
  payer_address text,
  received_amount numeric(78, 0),
  refund_tx_hash text,
  refund_amount numeric(78, 0),
  aggregated_amount numeric(78, 0),
  aggregation_tx_hash text,
  order_data json,
  callback_url text,
  group_key text,
  created_at timestamptz not null default clock_timestamp(),
  updated_at timestamptz not null default clock_timestamp()
)`;

// Copies of the real tables: their columns, defaults, checks and indexes (LIKE ... INCLUDING
// ALL), plus the foreign keys LIKE leaves out. What the gateway's insert maintains, this does.
export const REAL_COPY_DDL = [
  "create table bench_real_intents (like payment_intents including all)",
  "alter table bench_real_intents add foreign key (org_id) references organizations(id)",
  "alter table bench_real_intents add foreign key (client_id) references clients(client_id)",
  "create table bench_real_history (like payment_intent_status_history including all)",
  "alter table bench_real_history add foreign key (payment_intent_id) references bench_real_intents(id)",
];

export function createBaseline(db: Kysely<unknown>, owner: { orgId: number; clientId: string }) {
  let nextIndex = 0;

  /**
   * The gateway's row, into the copy of the real table, with its history row: one statement,
   * sent as a plain query or, `prepared`, as a named prepared statement (its text marked so the
   * plain one stays plain).
   */
  async function insertReal(
    body: Record<string, unknown>,
    prepared = false,
  ): Promise<Record<string, unknown>> {
    const id = randomBytes(16).toString("base64url").slice(0, 21);
    const orderData = body.order_data === undefined ? null : JSON.stringify(body.order_data);
    const now = new Date();
    const deadline = new Date(now.getTime() + 1800 * 1000);
    const query = sql<Record<string, unknown>>`
      with intent as (
        insert into bench_real_intents (id, org_id, client_id, payment_chain_id, payment_address,
          deposit_index, token_address, symbol, decimals, crypto_amount, fiat_amount,
          fiat_currency, rate, rate_source, payment_deadline, status, order_data, callback_url,
          group_key, asset_fixed, created_at, updated_at)
        values (${id}, ${owner.orgId}, ${owner.clientId}, 'arb',
          ${`0x${randomBytes(20).toString("hex")}`}, ${nextIndex++},
          '0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9', 'USDT', 6, '9230000',
          ${String(body.fiat_amount)}, ${String(body.fiat_currency)}, '32.5', 'static',
          ${deadline}, 'pending', ${orderData}, null,
          ${(body.group_key as string | undefined) ?? null}, false, ${now}, ${now})
        returning *),
      history as (
        insert into bench_real_history (payment_intent_id, from_status, to_status, cause, created_at)
        select id, null, status, 'bench', created_at from intent)
      select * from intent`.compile(db);
    const text = prepared ? `/* prepared */ ${query.sql}` : query.sql;
    if (prepared) prepareStatement(text);
    const { rows } = await db.executeQuery(CompiledQuery.raw(text, [...query.parameters]));
    return rows[0] as Record<string, unknown>;
  }

  async function insert(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = randomBytes(16).toString("hex");
    const orderData = body.order_data === undefined ? null : JSON.stringify(body.order_data);
    const deadline = new Date(Date.now() + 1800 * 1000);
    const { rows } = await sql<Record<string, unknown>>`
      insert into bench_intents (id, org_id, client_id, payment_chain_id, payment_address,
        deposit_index, token_address, symbol, decimals, crypto_amount, fiat_amount, fiat_currency,
        rate, rate_source, payment_deadline, status, order_data, callback_url, group_key)
      values (${id}, 1, ${"0".repeat(32)}, 'arb', ${`0x${randomBytes(20).toString("hex")}`},
        ${nextIndex++}, '0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9', 'USDT', 6, '9230000',
        ${String(body.fiat_amount)}, ${String(body.fiat_currency)}, '32.5', 'static',
        ${deadline}, 'pending', ${orderData}, null, ${(body.group_key as string | undefined) ?? null})
      returning *`.execute(db);
    return rows[0] as Record<string, unknown>;
  }

  async function select(id: string): Promise<Record<string, unknown> | undefined> {
    const { rows } = await sql<
      Record<string, unknown>
    >`select * from bench_intents where id = ${id}`.execute(db);
    return rows[0];
  }

  const app = new Hono();
  app.post("/baseline/real", async (c) => {
    const row = await insertReal(await c.req.json());
    return c.json({ code: 0, data: row });
  });
  app.post("/baseline/real-prepared", async (c) => {
    const row = await insertReal(await c.req.json(), true);
    return c.json({ code: 0, data: row });
  });
  app.post("/baseline", async (c) => {
    const row = await insert(await c.req.json());
    return c.json({ code: 0, data: row });
  });
  app.get("/baseline/:id", async (c) => {
    const row = await select(c.req.param("id"));
    return row ? c.json({ code: 0, data: row }) : c.json({ code: 4006, message: "not found" }, 404);
  });
  return { app, insert, insertReal, select };
}
