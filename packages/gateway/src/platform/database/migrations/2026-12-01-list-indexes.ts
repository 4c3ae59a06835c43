import { type Kysely, sql } from "kysely";

// The KryptoGO list at a million intents (payments/intent-list.ts, docs/decisions.md 2026-11-28).
// A group_key search first finds the organisation's distinct group keys that contain the text
// (a small table, trigram-indexed), then reads each key's intents newest first from an index of
// its own: a substring search over the intents themselves reads every match from the table.
//
// On a large existing table, build the two indexes by hand before upgrading, without blocking
// writes (the migration then finds them; the keys' backfill reads the table once):
//   create index concurrently if not exists payment_intents_client_status_created
//     on payment_intents(client_id, status, created_at desc, id desc);
//   create index concurrently if not exists payment_intents_org_group_key_created
//     on payment_intents(org_id, group_key, created_at desc, id desc) where group_key is not null;
export async function up(db: Kysely<unknown>): Promise<void> {
  // pg_trgm is in `public` (migration 2026-11-27-studio-payments says why).
  const { rows } = await sql<{ schema: string }>`
    select extnamespace::regnamespace::text as schema from pg_extension where extname = 'pg_trgm'`.execute(
    db,
  );
  const trgm = `${rows[0]?.schema ?? "public"}.gin_trgm_ops`;
  const statements = [
    `create table payment_intent_group_keys (
      org_id integer not null,
      group_key text not null,
      primary key (org_id, group_key)
    )`,
    `create index payment_intent_group_keys_trgm on payment_intent_group_keys using gin (group_key ${trgm})`,
    // group_key is written only when an intent is created, so an insert trigger keeps the keys
    // complete whatever inserts the intent (the API, payment links, a bulk import). Per statement,
    // on its inserted rows: a bulk insert adds each key once.
    `create function payment_intent_group_keys_add() returns trigger language plpgsql as $$
      begin
        insert into payment_intent_group_keys (org_id, group_key)
          select distinct org_id, group_key from inserted_intents where group_key is not null
          on conflict do nothing;
        return null;
      end
    $$`,
    `create trigger payment_intent_group_keys_add after insert on payment_intents
      referencing new table as inserted_intents
      for each statement execute function payment_intent_group_keys_add()`,
    `insert into payment_intent_group_keys (org_id, group_key)
      select distinct org_id, group_key from payment_intents where group_key is not null`,
    // A client's intents of some statuses (the client's own index has no status).
    `create index if not exists payment_intents_client_status_created
      on payment_intents(client_id, status, created_at desc, id desc)`,
    `create index if not exists payment_intents_org_group_key_created
      on payment_intents(org_id, group_key, created_at desc, id desc) where group_key is not null`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
