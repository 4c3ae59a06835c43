import { type Kysely, sql } from "kysely";

// Append-only: never edit a migration that has shipped; add a new dated file instead.
export async function up(db: Kysely<unknown>): Promise<void> {
  // One statement per query: PGlite runs parameterised (extended-protocol) queries one at a time.
  const statements = [
    `create table organizations (
      id integer generated always as identity primary key,
      name text not null,
      default_chain_id text not null,
      default_token_symbol text not null,
      created_at timestamptz not null default now()
    )`,
    `create table clients (
      client_id text primary key check (client_id ~ '^[0-9a-f]{32}$'),
      org_id integer not null references organizations(id),
      name text not null,
      allowed_origins text[] not null default '{}',
      created_at timestamptz not null default now()
    )`,
    `create index clients_org_id on clients(org_id)`,
    `create index clients_allowed_origins on clients using gin (allowed_origins)`,
    `create table api_keys (
      id integer generated always as identity primary key,
      org_id integer not null references organizations(id),
      name text not null,
      secret_hash text not null unique,
      prefix text not null,
      created_at timestamptz not null default now(),
      revoked_at timestamptz
    )`,
    `create index api_keys_org_id on api_keys(org_id)`,
    `create sequence deposit_address_index minvalue 0 start 0`,
    `create table payment_intents (
      id text primary key,
      org_id integer not null references organizations(id),
      client_id text not null references clients(client_id),
      payment_chain_id text not null,
      payment_address text not null unique,
      deposit_index integer not null unique,
      token_address text not null,
      symbol text not null,
      decimals integer not null,
      crypto_amount numeric(78, 0) not null check (crypto_amount > 0),
      fiat_amount text not null,
      fiat_currency text not null,
      rate text not null,
      rate_source text not null,
      payment_deadline timestamptz not null,
      status text not null check (status in ('pending', 'success', 'expired',
        'insufficient_not_refunded', 'insufficient_refunded')),
      payment_tx_hash text,
      payment_tx_timestamp timestamptz,
      payer_address text,
      received_amount numeric(78, 0),
      refund_tx_hash text,
      refund_amount numeric(78, 0),
      aggregated_amount numeric(78, 0),
      aggregation_tx_hash text,
      order_data json,
      callback_url text,
      group_key text,
      created_at timestamptz not null default clock_timestamp(),
      updated_at timestamptz not null default clock_timestamp()
    )`,
    `create index payment_intents_org_created on payment_intents(org_id, created_at desc, id desc)`,
    `create index payment_intents_client_created on payment_intents(client_id, created_at desc, id desc)`,
    `create table payment_intent_status_history (
      id integer generated always as identity primary key,
      payment_intent_id text not null references payment_intents(id),
      from_status text,
      to_status text not null,
      cause text not null,
      created_at timestamptz not null default clock_timestamp()
    )`,
    `create index payment_intent_status_history_intent on payment_intent_status_history(payment_intent_id, id)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
