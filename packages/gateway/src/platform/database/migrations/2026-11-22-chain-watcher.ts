import { type Kysely, sql } from "kysely";

// The chain watcher's state and the transfers it credits. Append-only, like every migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // The follower's unfinalised window and last finalised block per chain: restored at start so
    // a restart resumes without a gap or a double count.
    `create table chain_blocks (
      chain_id text not null,
      number bigint not null,
      hash text not null,
      parent_hash text not null,
      timestamp bigint not null,
      finalized boolean not null default false,
      primary key (chain_id, number)
    )`,
    `create table transfers (
      chain_id text not null,
      tx_hash text not null,
      log_index integer not null,
      token_address text not null,
      from_address text not null,
      to_address text not null,
      amount numeric(78, 0) not null check (amount > 0),
      block_number bigint not null,
      block_hash text not null,
      block_timestamp timestamptz not null,
      state text not null check (state in ('seen', 'confirmed', 'orphaned')),
      payment_intent_id text not null references payment_intents(id),
      created_at timestamptz not null default clock_timestamp(),
      updated_at timestamptz not null default clock_timestamp(),
      primary key (chain_id, tx_hash, log_index)
    )`,
    `create index transfers_intent on transfers(payment_intent_id)`,
    // Confirming (each finalize) and orphaning (each reorg) only touch unconfirmed transfers:
    // a partial index keeps that cost flat however long the chain's payment history grows.
    `create index transfers_seen_by_block on transfers(chain_id, block_number) where state = 'seen'`,
    `alter table payment_intents add column excess_amount numeric(78, 0)`,
    `alter table payment_intents add column late_amount numeric(78, 0)`,
    `create index payment_intents_chain_address on payment_intents(payment_chain_id, lower(payment_address))`,
    `create index payment_intents_pending_deadline on payment_intents(payment_deadline) where status = 'pending'`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
