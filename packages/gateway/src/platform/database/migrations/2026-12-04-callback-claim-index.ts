import { type Kysely, sql } from "kysely";

// The dispatcher's claim takes the oldest due events in (next_attempt_at, position) order. With
// the index on next_attempt_at alone, PostgreSQL sorted every pending event for each claim (a hash
// anti-join of the whole outbox, 30 ms at 4,000 pending); with position in the index it reads the
// first rows in order and stops at the claim's limit (under 1 ms), whatever the backlog.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop index callback_events_due`.execute(db);
  await sql`create index callback_events_due on callback_events(next_attempt_at, position) where state = 'pending'`.execute(
    db,
  );
}
