import { createHash } from "node:crypto";
import { type Kysely, sql } from "kysely";

// The branded checkout (docs/checkout.md): logos stored by the gateway and served from a
// content-addressed URL (the page's CSP allows no other image host), and an intent's optional
// description and return_url.
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // Keyed by the sha256 of the bytes: two organisations with one logo share a row, and the
    // URL /v1/checkout/logos/<sha256> never changes meaning, so it is cached for a year.
    `create table checkout_logos (
      sha256 text primary key,
      content_type text not null
        check (content_type in ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
      bytes bytea not null,
      created_at timestamptz not null default now()
    )`,
    `alter table organizations add column logo_sha256 text references checkout_logos(sha256)`,
    // Extensions of create: the order summary the page shows, and where "Back to shop" goes.
    `alter table payment_intents add column description text`,
    `alter table payment_intents add column return_url text`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);

  // Logos saved before this migration as data: URLs get their stored copy now. An https logo
  // saved before stays in logo_url but is not shown: the checkout shows only stored images.
  const orgs = await sql<{ id: number; logo_url: string }>`
    select id, logo_url from organizations where logo_url like 'data:image/%'`.execute(db);
  for (const org of orgs.rows) {
    const match = /^data:(image\/(?:png|jpeg|gif|webp));base64,(.*)$/.exec(org.logo_url);
    if (!match) continue;
    const bytes = Buffer.from(match[2] as string, "base64");
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    await sql`insert into checkout_logos (sha256, content_type, bytes)
      values (${sha256}, ${match[1]}, ${bytes}) on conflict (sha256) do nothing`.execute(db);
    await sql`update organizations set logo_sha256 = ${sha256} where id = ${org.id}`.execute(db);
  }
}
