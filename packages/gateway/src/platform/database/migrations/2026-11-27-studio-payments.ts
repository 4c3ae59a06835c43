import { type Kysely, sql } from "kysely";

// The indexes behind Studio's payments list (admin/payments/payment-search.ts): every filter and
// sort of one organisation's intents is an index range, so a page answers in milliseconds at
// 100,000 intents (bench/studio-payments.bench.ts). Substring searches (group_key) use pg_trgm,
// which PostgreSQL ships as a trusted extension and PGlite loads (create-database.ts).
export async function up(db: Kysely<unknown>): Promise<void> {
  // The extension lives in one schema per database, so it is made in `public`, never in the
  // schema of the search path: tests give each file a schema of its own and drop it with CASCADE,
  // which would drop an extension made there, and with it every other schema's trigram index,
  // under a test file running at the same time. The operator class is named with the schema the
  // extension is actually in (a database may have had it before).
  await sql`create extension if not exists pg_trgm with schema public`.execute(db);
  const { rows } = await sql<{ schema: string }>`
    select extnamespace::regnamespace::text as schema from pg_extension where extname = 'pg_trgm'`.execute(
    db,
  );
  const trgm = `${rows[0]?.schema ?? "public"}.gin_trgm_ops`;
  const statements = [
    `create index payment_intents_org_status_created on payment_intents(org_id, status, created_at desc, id desc)`,
    // fiat_amount is text (returned as sent); sorting compares it as a number.
    `create index payment_intents_org_fiat on payment_intents(org_id, (fiat_amount::numeric), id)`,
    `create index payment_intents_org_order_id on payment_intents(org_id, (coalesce(order_data->>'order_id', order_data->>'orderId')))`,
    `create index payment_intents_org_deposit on payment_intents(org_id, lower(payment_address))`,
    `create index payment_intents_org_payer on payment_intents(org_id, lower(payer_address)) where payer_address is not null`,
    `create index payment_intents_payment_tx on payment_intents(lower(payment_tx_hash)) where payment_tx_hash is not null`,
    `create index payment_intents_group_key_trgm on payment_intents using gin (group_key ${trgm})`,
    `create index transfers_tx_hash on transfers(lower(tx_hash))`,
    // Studio's deliveries list, newest first, and the failing endpoints.
    `create index callback_events_org on callback_events(org_id, position desc)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
