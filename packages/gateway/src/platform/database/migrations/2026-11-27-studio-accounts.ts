import { type Kysely, sql } from "kysely";

// Studio's accounts: people (not API keys) who sign in to the dashboard, their roles in each
// organisation, their server-side sessions, invitations and the audit log of what they changed.
export async function up(db: Kysely<unknown>): Promise<void> {
  const statements = [
    // email is stored lower-cased (one account per address); password_hash is argon2id's PHC
    // string. is_operator: runs the gateway, sees every organisation.
    `create table users (
      id serial primary key,
      email text not null unique,
      name text not null default '',
      password_hash text not null,
      is_operator boolean not null default false,
      totp_secret text,
      totp_enabled_at timestamptz,
      created_at timestamptz not null default now(),
      disabled_at timestamptz
    )`,
    `create table memberships (
      org_id integer not null references organizations(id),
      user_id integer not null references users(id),
      role text not null check (role in ('owner', 'admin', 'developer', 'viewer')),
      created_at timestamptz not null default now(),
      primary key (org_id, user_id)
    )`,
    `create index memberships_user on memberships(user_id)`,
    // id is sha256 of the cookie's token: a database dump does not hold a usable session.
    `create table studio_sessions (
      id text primary key,
      user_id integer not null references users(id),
      csrf_token text not null,
      created_at timestamptz not null default now(),
      last_seen_at timestamptz not null default now(),
      expires_at timestamptz not null,
      revoked_at timestamptz,
      ip text,
      user_agent text
    )`,
    `create index studio_sessions_user on studio_sessions(user_id)`,
    // id is sha256 of the link's token; the link is shown once to the inviter.
    `create table invitations (
      id text primary key,
      org_id integer not null references organizations(id),
      email text not null,
      role text not null check (role in ('owner', 'admin', 'developer', 'viewer')),
      invited_by integer references users(id),
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      accepted_at timestamptz,
      accepted_by integer references users(id),
      revoked_at timestamptz
    )`,
    `create index invitations_org on invitations(org_id, created_at)`,
    // Failed sign-ins per key (an email, an address): throttling and lockout.
    `create table login_failures (
      key text primary key,
      failures integer not null default 0,
      first_failed_at timestamptz not null default now(),
      locked_until timestamptz
    )`,
    // Every change made through Studio, the admin API or the CLI. Append-only (see the trigger).
    `create table audit_log (
      id bigserial primary key,
      org_id integer references organizations(id),
      actor_user_id integer references users(id),
      actor text not null,
      action text not null,
      target text,
      before jsonb,
      after jsonb,
      ip text,
      created_at timestamptz not null default now()
    )`,
    `create index audit_log_org on audit_log(org_id, id)`,
    `create function audit_log_append_only() returns trigger language plpgsql as $$
      begin
        raise exception 'audit_log is append-only';
      end
    $$`,
    `create trigger audit_log_append_only before update or delete on audit_log
      for each row execute function audit_log_append_only()`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
