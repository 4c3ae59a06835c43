import { type Kysely, sql } from "kysely";

// Withdrawals made by a person in Studio, with maker-checker approval above the organisation's
// threshold. The money still moves as a payout (payouts/): the same limits, balance checks,
// reservation and exactly-once sending as an API transfer.
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // A Studio withdrawal's payout has no API key: the withdrawals row says who asked.
    `alter table payouts alter column api_key_id drop not null`,
    // Decimal token amount, like the limits; null: no withdrawal needs an approval.
    `alter table organizations add column withdrawal_approval_threshold numeric`,
    // One row per withdrawal asked for in Studio, sent at once or awaiting a second member.
    // payout_id is set in the transaction that reserves the payout; a reservation released
    // (nothing signed, the process stopped) sets it back to null.
    `create table withdrawals (
      id bigserial primary key,
      org_id integer not null references organizations(id),
      chain_id text not null,
      token_address text not null,
      symbol text not null,
      decimals integer not null,
      amount numeric(78, 0) not null check (amount > 0),
      to_address text not null,
      status text not null check (status in ('awaiting_approval', 'rejected', 'sent')),
      requested_by integer not null references users(id),
      approved_by integer references users(id),
      rejected_by integer references users(id),
      reject_reason text,
      decided_at timestamptz,
      idempotency_key text not null,
      request_hash text not null,
      payout_id text references payouts(id) on delete set null,
      created_at timestamptz not null default now(),
      unique (org_id, idempotency_key)
    )`,
    `create index withdrawals_org_created on withdrawals(org_id, created_at desc, id desc)`,
    `create index withdrawals_payout on withdrawals(payout_id)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
