import { createHash, randomBytes } from "node:crypto";
import { type Kysely, sql } from "kysely";
import type { Database } from "../platform/database/schema.ts";
import { type OrgRole, permissionsOf } from "./roles.ts";

/** The cookie that carries a Studio session's token (HttpOnly, SameSite=Strict). */
export const SESSION_COOKIE = "stablegate_session";

export interface StudioSessionSettings {
  /** Signed out after this long without a request. */
  idleMs: number;
  /** Signed out this long after signing in, however active. */
  absoluteMs: number;
}

export interface SessionUser {
  id: number;
  email: string;
  name: string;
  isOperator: boolean;
  totpEnabled: boolean;
}

export interface ResolvedSession {
  id: string;
  csrfToken: string;
  expiresAt: Date;
  user: SessionUser;
}

// last_seen_at is written at most this often: a page's burst of requests costs one UPDATE.
const TOUCH_EVERY_MS = 60_000;

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function newToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Server-side Studio sessions: the cookie holds a random token, the database its hash. */
export function createStudioSessions(options: {
  db: Kysely<Database>;
  settings: StudioSessionSettings;
  now?: () => Date;
}) {
  const { db, settings } = options;
  const now = options.now ?? (() => new Date());

  return {
    settings,

    async start(userId: number, meta: { ip: string | null; userAgent: string | null }) {
      const token = newToken();
      const csrfToken = newToken();
      const expiresAt = new Date(now().getTime() + settings.absoluteMs);
      await db
        .insertInto("studio_sessions")
        .values({
          id: hashToken(token),
          user_id: userId,
          csrf_token: csrfToken,
          created_at: now(),
          last_seen_at: now(),
          expires_at: expiresAt,
          ip: meta.ip,
          user_agent: meta.userAgent?.slice(0, 512) ?? null,
        })
        .execute();
      return { token, csrfToken, expiresAt };
    },

    /** The live session of a cookie's token, or undefined (unknown, revoked, expired, idle). */
    async resolve(token: string): Promise<ResolvedSession | undefined> {
      const row = await db
        .selectFrom("studio_sessions as s")
        .innerJoin("users as u", "u.id", "s.user_id")
        .select([
          "s.id",
          "s.csrf_token",
          "s.expires_at",
          "s.last_seen_at",
          "s.revoked_at",
          "u.id as user_id",
          "u.email",
          "u.name",
          "u.is_operator",
          "u.totp_enabled_at",
          "u.disabled_at",
        ])
        .where("s.id", "=", hashToken(token))
        .executeTakeFirst();
      if (!row || row.revoked_at !== null || row.disabled_at !== null) return undefined;
      const at = now().getTime();
      if (new Date(row.expires_at).getTime() <= at) return undefined;
      const lastSeen = new Date(row.last_seen_at).getTime();
      if (lastSeen + settings.idleMs <= at) return undefined;
      if (at - lastSeen >= TOUCH_EVERY_MS) {
        await db
          .updateTable("studio_sessions")
          .set({ last_seen_at: now() })
          .where("id", "=", row.id)
          .execute();
      }
      return {
        id: row.id,
        csrfToken: row.csrf_token,
        expiresAt: new Date(row.expires_at),
        user: {
          id: row.user_id,
          email: row.email,
          name: row.name,
          isOperator: row.is_operator,
          totpEnabled: row.totp_enabled_at !== null,
        },
      };
    },

    /** Signs one session out. */
    async end(sessionId: string): Promise<void> {
      await db
        .updateTable("studio_sessions")
        .set({ revoked_at: now() })
        .where("id", "=", sessionId)
        .where("revoked_at", "is", null)
        .execute();
    },

    /** "Sign out everywhere": every live session of the user but `exceptId`, if given. */
    async endAll(userId: number, exceptId?: string): Promise<number> {
      const result = await db
        .updateTable("studio_sessions")
        .set({ revoked_at: now() })
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .where("expires_at", ">", sql<Date>`${now()}`)
        .$if(exceptId !== undefined, (q) => q.where("id", "!=", exceptId as string))
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}

export type StudioSessions = ReturnType<typeof createStudioSessions>;

/** The session as Studio reads it at start. */
export async function describeSession(
  db: Kysely<Database>,
  session: { csrfToken: string; expiresAt: Date; user: { id: number } },
) {
  const user = await db
    .selectFrom("users")
    .select(["id", "email", "name", "is_operator", "totp_enabled_at"])
    .where("id", "=", session.user.id)
    .executeTakeFirstOrThrow();
  const memberships = await db
    .selectFrom("memberships as m")
    .innerJoin("organizations as o", "o.id", "m.org_id")
    .select(["m.org_id", "o.name as org_name", "m.role"])
    .where("m.user_id", "=", user.id)
    .orderBy("o.name")
    .execute();
  return {
    user: {
      id: user.id,
      email: user.email,
      name: user.name,
      is_operator: user.is_operator,
      totp_enabled: user.totp_enabled_at !== null,
    },
    csrf_token: session.csrfToken,
    expires_at: session.expiresAt.toISOString(),
    memberships: memberships.map((m) => ({
      ...m,
      permissions: permissionsOf(m.role as OrgRole),
    })),
  };
}
