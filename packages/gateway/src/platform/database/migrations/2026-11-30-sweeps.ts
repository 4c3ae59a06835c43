import { type Kysely, sql } from "kysely";

// Gasless batch sweeps from deposit addresses (EIP-7702; docs/treasury.md, "Strategies").
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // A type-4 transaction's signed authorizations, as JSON: a replacement of a stuck batch is
    // signed with the same list (the deposit addresses' nonces have not moved while it waits).
    `alter table chain_txs add column authorization_list text`,
    // One sweepMany transaction from the gas wallet. Its members are written with it, before it
    // is signed, so a process killed in between submits the same batch under the same key.
    `create table sweep_batches (
      id serial primary key,
      chain_id text not null,
      chain_tx_id integer references chain_txs(id),
      -- Why it cannot be sent now (the gas wallet lacks coin): told to each member's caller.
      error text,
      created_at timestamptz not null default now()
    )`,
    // One token transfer a caller asked of a deposit address, keyed by the caller's idempotency
    // key. state: open (waiting for a batch), batched (in a batch not yet settled), stopped (its
    // payment intent was reversed by a deep reorg before the batch was signed), confirmed or failed (the batch's SweepResult said so,
    // or the batch reverted).
    `create table sweeps (
      id serial primary key,
      chain_id text not null,
      deposit_index integer not null,
      deposit_address text not null,
      token_address text not null,
      to_address text not null,
      amount numeric(78, 0) not null,
      purpose text not null,
      idempotency_key text not null unique,
      batch_id integer references sweep_batches(id),
      -- Its position in the batch's sweepMany call (SweepResult.index), written where it is signed.
      batch_index integer,
      state text not null check (state in ('open', 'batched', 'stopped', 'confirmed', 'failed')),
      result text,
      gas_cost numeric(78, 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`,
    `create index sweeps_open on sweeps(chain_id, id) where state = 'open'`,
    `create index sweeps_batch on sweeps(batch_id)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
