import { type Kysely, sql } from "kysely";

// Deep reorgs: a decided payment whose transfer vanished is flagged on the intent and recorded
// as an event; each chain's follower reports its health here so every process can judge it.
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // Set once, never cleared: the status (and what was called back) stays, a person decides.
    `alter table payment_intents add column reversed_at timestamptz`,
    `alter table payment_intents add column reversal_reason text`,
    // Append-only operational events (payment.reversed, ...), for the admin API and dashboard to
    // list. `type` names the event; `data` carries its details.
    `create table gateway_events (
      id bigserial primary key,
      type text not null,
      chain_id text,
      payment_intent_id text references payment_intents(id),
      data jsonb not null default '{}'::jsonb,
      created_at timestamptz not null default clock_timestamp()
    )`,
    `create index gateway_events_type on gateway_events(type, id)`,
    `create index gateway_events_intent on gateway_events(payment_intent_id) where payment_intent_id is not null`,
    // One row per followed chain, written by whichever process runs its watcher: the node's head
    // and the processed block with when each last moved, so /readyz on any process can tell a
    // stalled or lagging chain.
    `create table chain_status (
      chain_id text primary key,
      head_number bigint,
      processed_number bigint,
      finalized_number bigint,
      polled_at timestamptz,
      progressed_at timestamptz,
      failing_since timestamptz,
      last_error text,
      reorgs bigint not null default 0,
      deep_reorgs bigint not null default 0,
      updated_at timestamptz not null default clock_timestamp()
    )`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
