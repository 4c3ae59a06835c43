import { type Kysely, sql } from "kysely";

// The double-entry ledger (ledger/): every token and every wei of gas that moves on an address
// the gateway controls, as balanced postings. Append-only: a correction is a new entry.
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // An account is a place money can be: one of the gateway's addresses (deposit, hot, gas,
    // fee), a merchant's treasury address, or the outside world (payers, payees, the operator's
    // funding, gas burnt). One per chain and asset ('native' or the token's lower-case address).
    `create table ledger_accounts (
      id bigserial primary key,
      key text not null unique,
      kind text not null check (kind in
        ('deposit', 'hot', 'gas', 'fee', 'treasury', 'payer', 'payee', 'funding', 'gas_burnt', 'external')),
      chain_id text not null,
      asset text not null,
      address text,
      org_id integer references organizations(id),
      payment_intent_id text references payment_intents(id)
    )`,
    `create index ledger_accounts_intent on ledger_accounts(payment_intent_id)`,
    `create index ledger_accounts_org on ledger_accounts(org_id)`,
    // One money event: a payment confirmed or reversed, a chain transaction confirmed (its token
    // or native transfer and its gas), an outside deposit to a gateway wallet. \`ref\` makes each
    // event's entry once only, whichever process records it and however often.
    `create table ledger_entries (
      id bigserial primary key,
      ref text not null unique,
      kind text not null,
      chain_id text not null,
      block_number bigint not null,
      tx_hash text,
      org_id integer references organizations(id),
      payment_intent_id text references payment_intents(id),
      memo text not null,
      created_at timestamptz not null default now()
    )`,
    `create index ledger_entries_chain_block on ledger_entries(chain_id, block_number)`,
    `create index ledger_entries_intent on ledger_entries(payment_intent_id)`,
    `create table ledger_postings (
      id bigserial primary key,
      entry_id bigint not null references ledger_entries(id),
      account_id bigint not null references ledger_accounts(id),
      amount numeric(78, 0) not null check (amount <> 0)
    )`,
    `create index ledger_postings_account on ledger_postings(account_id)`,
    `create index ledger_postings_entry on ledger_postings(entry_id)`,
    `create function ledger_append_only() returns trigger language plpgsql as $$
      begin
        raise exception '% is append-only: a correction is a new entry', tg_table_name;
      end
    $$`,
    `create trigger ledger_entries_append_only before update or delete on ledger_entries
      for each row execute function ledger_append_only()`,
    `create trigger ledger_postings_append_only before update or delete on ledger_postings
      for each row execute function ledger_append_only()`,
    // Token transfers into a gateway wallet (hot, gas, fee) from outside the gateway: the
    // operator funding payouts. Followed like payments (seen, confirmed, orphaned); the ledger
    // records each once confirmed.
    `create table wallet_deposits (
      chain_id text not null,
      tx_hash text not null,
      log_index integer not null,
      token_address text not null,
      from_address text not null,
      to_address text not null,
      amount numeric(78, 0) not null,
      block_number bigint not null,
      block_hash text not null,
      state text not null check (state in ('seen', 'confirmed', 'orphaned')),
      primary key (chain_id, tx_hash, log_index)
    )`,
    `create index wallet_deposits_open on wallet_deposits(chain_id, block_number) where state = 'seen'`,
    // Money events recorded before this migration get their entries at the next start
    // (ledger/backfill.ts), which then sets done_at.
    `create table ledger_backfill (done_at timestamptz)`,
    `insert into ledger_backfill (done_at) values (null)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
