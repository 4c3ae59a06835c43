import { type Kysely, sql } from "kysely";

// The transaction manager: every outgoing transaction, its nonce and every signed version of it.
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // The next nonce per sender, handed out under this row's lock: no gaps, no duplicates.
    `create table chain_senders (
      chain_id text not null,
      sender text not null,
      next_nonce bigint not null,
      primary key (chain_id, sender)
    )`,
    // One row per decision to send (a payout, a refund, a collection, a gas top-up). The signed
    // bytes and hash are stored before the first broadcast; a replacement (same nonce, higher
    // fees) adds a row to chain_tx_attempts and becomes the current one.
    `create table chain_txs (
      id serial primary key,
      idempotency_key text not null unique,
      purpose text not null,
      chain_id text not null,
      sender text not null,
      nonce bigint not null,
      to_address text not null,
      value numeric(78, 0) not null default 0,
      data text not null default '0x',
      gas_limit numeric(78, 0) not null,
      max_fee_per_gas numeric(78, 0) not null,
      max_priority_fee_per_gas numeric(78, 0) not null,
      tx_hash text not null,
      raw_tx text not null,
      state text not null check (state in ('signed', 'broadcast', 'mined', 'confirmed', 'failed')),
      broadcast_block bigint,
      block_number bigint,
      block_hash text,
      gas_used numeric(78, 0),
      effective_gas_price numeric(78, 0),
      error_kind text,
      error text,
      created_at timestamptz not null default clock_timestamp(),
      updated_at timestamptz not null default clock_timestamp(),
      unique (chain_id, sender, nonce)
    )`,
    `create index chain_txs_open on chain_txs(chain_id, id) where state in ('signed', 'broadcast', 'mined')`,
    `create table chain_tx_attempts (
      id bigserial primary key,
      chain_tx_id integer not null references chain_txs(id),
      tx_hash text not null unique,
      raw_tx text not null,
      max_fee_per_gas numeric(78, 0) not null,
      max_priority_fee_per_gas numeric(78, 0) not null,
      created_at timestamptz not null default clock_timestamp()
    )`,
    `create index chain_tx_attempts_tx on chain_tx_attempts(chain_tx_id)`,
    // One process at a time follows a chain's transactions (broadcasts, replaces); a lease, not a
    // held lock, because the work between is RPC calls and PGlite has one connection.
    `create table tx_manager_leases (
      chain_id text primary key,
      holder text not null,
      until timestamptz not null
    )`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
