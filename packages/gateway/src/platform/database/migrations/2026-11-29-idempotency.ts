import { type Kysely, sql } from "kysely";

// Idempotency-Key beyond the transfer API (docs/decisions.md, "2026-11-28: Idempotency-Key on
// every POST").
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // Intent create: the key and the request's hash live on the intent itself, written in the
    // insert's transaction, so a retry after a crash between the insert and the answer finds
    // the intent (same id, same address) instead of making a second one. An intent's key counts
    // for 24 hours; a newer use of it clears it from the older intent (payments/).
    `alter table payment_intents add column idempotency_key text`,
    `alter table payment_intents add column idempotency_request_hash text`,
    `create unique index payment_intents_idempotency_key on payment_intents(org_id, idempotency_key)
      where idempotency_key is not null`,
    // Every other POST under /v1 (http/idempotency.ts): the first answer, replayed to a retry.
    // scope: "org:<id>" (API key), "client:<id>" (browser) or "user:<id>" (Studio session).
    // state: 'running' while the first request is answered (locked_until: after that a retry
    // may take over, the first having died), 'done' once its answer is stored.
    `create table idempotency_keys (
      scope text not null,
      key text not null,
      method text not null,
      path text not null,
      request_hash text not null,
      state text not null check (state in ('running', 'done')),
      locked_until timestamptz,
      response_status integer,
      response_content_type text,
      response_body text,
      created_at timestamptz not null,
      primary key (scope, key)
    )`,
    // Expired keys are deleted on write (http/idempotency-store.ts), oldest first.
    `create index idempotency_keys_created on idempotency_keys(created_at)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
