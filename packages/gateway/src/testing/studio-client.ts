import { hash } from "@node-rs/argon2";
import type { OrgRole } from "../admin/roles.ts";
import { createStudioSessions, SESSION_COOKIE } from "../admin/studio-sessions.ts";
import type { Gateway } from "../gateway.ts";

export interface StudioTestUser {
  userId: number;
  email: string;
  password: string;
}

let users = 0;

/**
 * A Studio user written straight into the database (a member of `orgId` with `role`, or an
 * operator), for tests of routes other than signing in.
 */
export async function createStudioUser(
  gateway: Gateway,
  o: { orgId?: number; role?: OrgRole; operator?: boolean; email?: string; password?: string },
): Promise<StudioTestUser> {
  users += 1;
  const email = o.email ?? `user${users}-${process.pid}@example.com`;
  const password = o.password ?? "correct horse battery staple";
  const db = gateway.database.db;
  const user = await db
    .insertInto("users")
    .values({
      email: email.toLowerCase(),
      name: `User ${users}`,
      password_hash: await hash(password),
      is_operator: o.operator ?? false,
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  if (o.orgId !== undefined) {
    await db
      .insertInto("memberships")
      .values({ org_id: o.orgId, user_id: user.id, role: o.role ?? "owner" })
      .execute();
  }
  return { userId: user.id, email, password };
}

export interface StudioTestClient {
  cookie: string;
  csrfToken: string;
  /** A request with the session cookie and (unless `csrf: false`) the CSRF token. */
  request(
    method: string,
    path: string,
    options?: { body?: unknown; csrf?: boolean; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers; text: string }>;
}

/** A session for `user`, started without the sign-in route (which has tests of its own). */
export async function studioSession(
  gateway: Gateway,
  user: StudioTestUser,
): Promise<StudioTestClient> {
  const sessions = createStudioSessions({
    db: gateway.database.db,
    settings: { idleMs: 3_600_000, absoluteMs: 12 * 3_600_000 },
  });
  const { token, csrfToken } = await sessions.start(user.userId, { ip: null, userAgent: null });
  return studioClient(gateway, `${SESSION_COOKIE}=${token}`, csrfToken);
}

/** A client sending `cookie` (and the CSRF token), e.g. from a sign-in's Set-Cookie. */
export function studioClient(
  gateway: Pick<Gateway, "url">,
  cookie: string,
  csrfToken: string,
): StudioTestClient {
  return {
    cookie,
    csrfToken,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { cookie, ...options.headers };
      if (options.csrf !== false) headers["x-csrf-token"] = csrfToken;
      if (options.body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(`${gateway.url}${path}`, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      });
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: res.status, body, headers: res.headers, text };
    },
  };
}

/** A member (or operator) of an organisation with a live session: the usual start of a test. */
export async function signInAs(
  gateway: Gateway,
  o: { orgId?: number; role?: OrgRole; operator?: boolean; email?: string },
): Promise<StudioTestClient & { user: StudioTestUser }> {
  const user = await createStudioUser(gateway, o);
  return { ...(await studioSession(gateway, user)), user };
}
