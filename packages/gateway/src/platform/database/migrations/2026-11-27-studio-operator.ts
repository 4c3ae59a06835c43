import { type Kysely, sql } from "kysely";

// The operator's switch on an organisation (its API keys and clients are refused while set), and
// the last TOTP time step a user signed with, so a code seen over a shoulder cannot be replayed
// within its 90-second window.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table organizations add column suspended_at timestamptz`.execute(db);
  await sql`alter table users add column totp_last_step bigint`.execute(db);
}
