import { type Kysely, sql } from "kysely";

// Treasury: where each organisation's money is collected (and the operator's fee on it), the
// refunds of insufficient and late payments, and the native coin the gas wallet sends to deposit
// addresses so they can move their tokens. Every row that sends money names the chain_txs row
// (idempotency key) that does it, so a decision is sent at most once.
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `alter table organizations add column treasury_address text`,
    `alter table organizations add column fee_bps integer not null default 0
      check (fee_bps >= 0 and fee_bps <= 10000)`,
    // Late payments are refunded without changing the status; the merchant still sees them here.
    `alter table payment_intents add column late_refund_amount numeric(78, 0)`,
    `alter table payment_intents add column late_refund_tx_hash text`,
    // One row per refunded transfer, keyed by the transfer itself: the same transfer cannot be
    // refunded twice, whatever decides it.
    `create table refunds (
      id bigserial primary key,
      payment_intent_id text not null references payment_intents(id),
      chain_id text not null,
      tx_hash text not null,
      log_index integer not null,
      kind text not null check (kind in ('insufficient', 'late')),
      token_address text not null,
      from_address text not null,
      to_address text not null,
      amount numeric(78, 0) not null check (amount > 0),
      chain_tx_id bigint references chain_txs(id),
      state text not null default 'pending'
        check (state in ('pending', 'submitted', 'confirmed', 'failed')),
      error text,
      created_at timestamptz not null default clock_timestamp(),
      updated_at timestamptz not null default clock_timestamp(),
      unique (chain_id, tx_hash, log_index),
      foreign key (chain_id, tx_hash, log_index) references transfers(chain_id, tx_hash, log_index)
    )`,
    `create index refunds_intent on refunds(payment_intent_id, id)`,
    // One collection per successful intent: the aggregated amount to the treasury and the fee to
    // the operator, as two token transfers from the deposit address.
    `create table collections (
      id bigserial primary key,
      payment_intent_id text not null unique references payment_intents(id),
      chain_id text not null,
      token_address text not null,
      from_address text not null,
      treasury_address text,
      fee_address text,
      amount numeric(78, 0),
      fee numeric(78, 0),
      chain_tx_id bigint references chain_txs(id),
      fee_chain_tx_id bigint references chain_txs(id),
      state text not null
        check (state in ('waiting_treasury', 'pending', 'submitted', 'confirmed', 'failed')),
      error text,
      created_at timestamptz not null default clock_timestamp(),
      updated_at timestamptz not null default clock_timestamp()
    )`,
    // The native coin sent to a deposit address so it can pay for one token transfer (for_key is
    // that transfer's idempotency key), and what both cost once mined.
    `create table gas_topups (
      id bigserial primary key,
      chain_tx_id bigint not null unique references chain_txs(id),
      chain_id text not null,
      deposit_address text not null,
      for_key text not null,
      funded_chain_tx_id bigint references chain_txs(id),
      amount numeric(78, 0) not null,
      topup_cost numeric(78, 0),
      transfer_cost numeric(78, 0),
      created_at timestamptz not null default clock_timestamp()
    )`,
    `create index gas_topups_for_key on gas_topups(for_key)`,
    // The treasury worker's queue: one row per intent with money to move. Claimed with a lease
    // (locked_until) so a crashed worker's intent is taken over; errors back off (next_attempt_at).
    `create table treasury_work (
      payment_intent_id text primary key references payment_intents(id),
      next_attempt_at timestamptz not null,
      enqueued_at timestamptz not null,
      locked_until timestamptz,
      attempts integer not null default 0,
      last_error text,
      created_at timestamptz not null default clock_timestamp()
    )`,
    `create index treasury_work_due on treasury_work(next_attempt_at)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
