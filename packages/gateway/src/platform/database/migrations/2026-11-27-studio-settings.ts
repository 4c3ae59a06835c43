import { type Kysely, sql } from "kysely";

// Studio's developer and settings pages: when each API key was last used, the checkout branding
// of each organisation, and payment links (a URL that opens the hosted checkout of a new intent).
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // Written at most once a minute per key by authenticate, never once per request.
    `alter table api_keys add column last_used_at timestamptz`,
    `alter table organizations add column display_name text`,
    // https URL, or a data: image (at most 64 KB), checked by organizations/org-settings.ts.
    `alter table organizations add column logo_url text`,
    `alter table organizations add column accent_color text`,
    // id is random and public (the link's URL). intent_id: a one-time link's intent, or a
    // reusable link's latest; a one-time link is claimed by setting it in the transaction that
    // inserts the intent, so two opens at once make one intent.
    `create table payment_links (
      id text primary key,
      org_id integer not null references organizations(id),
      fiat_amount text not null,
      fiat_currency text not null,
      description text not null default '',
      reusable boolean not null,
      active boolean not null default true,
      uses integer not null default 0,
      intent_id text references payment_intents(id),
      created_by integer references users(id),
      created_at timestamptz not null default now()
    )`,
    `create index payment_links_org on payment_links(org_id, created_at)`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
