import { type Kysely, sql } from "kysely";

// Merchant refunds (POST /v1/studio/api/payment/intent/{id}/refund) and callbacks beyond status
// changes. A merchant refund is a request, not a transfer: one row per request, keyed per
// organisation by its Idempotency-Key, sent by the treasury worker from the intent's deposit
// address through the transaction manager (one chain_txs row, key `merchant-refund:<id>`).
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create table merchant_refunds (
      id text primary key,
      payment_intent_id text not null references payment_intents(id),
      org_id integer not null references organizations(id),
      chain_id text not null,
      token_address text not null,
      from_address text not null,
      to_address text not null,
      amount numeric(78, 0) not null check (amount > 0),
      -- Null once the key is older than the 24 h window and used again (payouts do the same).
      idempotency_key text,
      request_hash text not null,
      requested_by text not null,
      chain_tx_id integer references chain_txs(id),
      status text not null default 'pending'
        check (status in ('pending', 'sent', 'confirmed', 'failed')),
      error text,
      created_at timestamptz not null default clock_timestamp(),
      updated_at timestamptz not null default clock_timestamp(),
      unique (org_id, idempotency_key)
    )`,
    `create index merchant_refunds_intent on merchant_refunds(payment_intent_id, created_at)`,
    // What a callback reports: null for a status change (the body KryptoGO's receivers know),
    // else the event's name (refund.sent, late_payment.detected, ...), also in the body.
    `alter table callback_events add column event text`,
    // Collection events are opt-in: a receiver written for status callbacks need not see them.
    `alter table organizations add column callback_collection_events boolean not null default false`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
