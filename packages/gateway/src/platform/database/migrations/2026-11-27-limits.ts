import { type Kysely, sql } from "kysely";

// The hosts a client's browser creates may send callbacks to (X-Client-ID and Origin are public,
// so without a list anyone could make the gateway post to a host of their choosing under the
// merchant's name). Empty: browser creates may not set callback_url; '*': any host.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table clients add column allowed_callback_hosts text[] not null default '{}'`.execute(
    db,
  );
}
