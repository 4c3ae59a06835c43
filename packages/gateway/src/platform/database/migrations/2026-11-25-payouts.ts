import { type Kysely, sql } from "kysely";

// Transfers (withdrawals) from an organisation's hot wallet, and the risk limits that bound them.
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // One row per accepted transfer. The row is written (reserved) before the transaction is
    // submitted, so a concurrent request already counts it against the balance and the limits;
    // chain_tx_id links it once the transaction manager has signed it.
    `create table payouts (
      id text primary key,
      org_id integer not null references organizations(id),
      seq integer not null,
      api_key_id integer not null references api_keys(id),
      chain_id text not null,
      token_address text not null,
      symbol text not null,
      decimals integer not null,
      amount numeric(78, 0) not null check (amount > 0),
      from_address text not null,
      to_address text not null,
      idempotency_key text,
      request_hash text not null,
      chain_tx_id bigint references chain_txs(id),
      created_at timestamptz not null,
      unique (org_id, seq),
      unique (org_id, idempotency_key)
    )`,
    `create index payouts_org_created on payouts(org_id, created_at desc, seq desc)`,
    `create index payouts_unsent on payouts(org_id, chain_id) where chain_tx_id is null`,
    // Decimal token amounts (USDT and USDC alike); null means no limit.
    `alter table organizations add column max_transfer_amount numeric`,
    `alter table organizations add column daily_transfer_cap numeric`,
    // The <sequence> of the transfer id "<org>-<unix time>-<sequence>", taken under the row lock.
    `alter table organizations add column last_payout_seq integer not null default 0`,
    `alter table api_keys add column max_transfer_amount numeric`,
    `alter table api_keys add column daily_transfer_cap numeric`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
