import { type Kysely, sql } from "kysely";

// Callbacks: an outbox of status-change events written in the status change's own transaction,
// every delivery attempt, and each organisation's webhook signing secrets.
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // The signing key must be readable to sign with, so it is stored as is (a hash cannot sign).
    // A rotated-out secret keeps signing until expires_at, so receivers can switch over.
    `create table webhook_secrets (
      id serial primary key,
      org_id integer not null references organizations(id),
      secret text not null,
      created_at timestamptz not null default clock_timestamp(),
      expires_at timestamptz
    )`,
    `create index webhook_secrets_org on webhook_secrets(org_id)`,
    // Organisations from before this migration get a secret; their owners rotate to learn it.
    `insert into webhook_secrets (org_id, secret)
      select id, 'whsec_' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '')
      from organizations`,
    // position orders one intent's events: a later event waits until the earlier ones end. A run is
    // the event's first delivery or a resend: its attempts back off and give up after 3 days.
    `create table callback_events (
      id text primary key,
      position bigserial not null unique,
      payment_intent_id text not null references payment_intents(id),
      org_id integer not null references organizations(id),
      status text not null,
      url text not null,
      body text not null,
      state text not null default 'pending' check (state in ('pending', 'delivered', 'failed')),
      run_attempts integer not null default 0,
      run_started_at timestamptz not null,
      next_attempt_at timestamptz not null,
      locked_until timestamptz,
      last_error text,
      created_at timestamptz not null,
      delivered_at timestamptz,
      failed_at timestamptz
    )`,
    `create index callback_events_intent on callback_events(payment_intent_id, position)`,
    `create index callback_events_due on callback_events(next_attempt_at) where state = 'pending'`,
    `create table callback_attempts (
      id bigserial primary key,
      event_id text not null references callback_events(id),
      attempted_at timestamptz not null,
      duration_ms integer not null,
      http_status integer,
      outcome text not null check (outcome in ('delivered', 'retry', 'failed')),
      error text,
      response_excerpt text
    )`,
    `create index callback_attempts_event on callback_attempts(event_id, id)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
