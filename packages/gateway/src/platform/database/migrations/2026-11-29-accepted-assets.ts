import { type Kysely, sql } from "kysely";

// Accepted assets and the payer's choice (docs/accepted-assets.md).
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // "chain/SYMBOL" pairs (canonical chain key, the registry's symbol); null: the default pair
    // alone, so an organisation made before this migration sees no change.
    `alter table organizations add column accepted_assets text[]`,
    // The merchant fixed the asset on create (payment_chain_id / symbol): the payer may not
    // choose another.
    `alter table payment_intents add column asset_fixed boolean not null default false`,
    // Each asset an intent was quoted in before the payer switched: a payment that still
    // arrives in one of them is recognised (payments/asset-choice.ts).
    `create table payment_intent_asset_changes (
      id bigserial primary key,
      payment_intent_id text not null references payment_intents(id),
      payment_address text not null,
      chain_id text not null,
      token_address text not null,
      symbol text not null,
      decimals integer not null,
      crypto_amount numeric(78, 0) not null,
      rate text not null,
      rate_source text not null,
      created_at timestamptz not null default now()
    )`,
    `create index payment_intent_asset_changes_address on payment_intent_asset_changes(chain_id, lower(payment_address))`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
