import { timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { Kysely } from "kysely";
import type { AppEnv } from "../http/openapi.ts";
import { clientIp } from "../http/rate-limits.ts";
import type { Database } from "../platform/database/schema.ts";
import { DomainError, ErrorCode, notFound } from "../platform/errors.ts";
import type { Actor } from "./audit-log.ts";
import { type OrgRole, type Permission, roleCan } from "./roles.ts";
import { type ResolvedSession, SESSION_COOKIE, type StudioSessions } from "./studio-sessions.ts";

/** The signed-in Studio user of a request. */
export interface StudioCaller {
  session: ResolvedSession;
  /** For recordAudit: the user and the request's address. */
  actor: Actor;
}

/** The organisation a route acts on, and the caller's role in it (an operator's is "operator"). */
export interface OrgAccess {
  orgId: number;
  role: OrgRole | "operator";
}

export type StudioEnv = {
  Variables: AppEnv["Variables"] & { studio: StudioCaller; org: OrgAccess };
};

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function notSignedIn(message = "sign in to Studio first"): DomainError {
  return new DomainError({ status: 401, code: ErrorCode.notSignedIn, message });
}

export function forbidden(message: string): DomainError {
  return new DomainError({ status: 403, code: ErrorCode.forbidden, message });
}

function csrfRejected(message: string): DomainError {
  return new DomainError({ status: 403, code: ErrorCode.csrfRejected, message });
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The admin API's guards. `requireSession` runs on every /v1/admin route but the public ones
 * (signing in, opening an invitation): the session cookie must name a live session, and a
 * state-changing request must carry the session's CSRF token in `X-CSRF-Token` and must not come
 * from another site (`Sec-Fetch-Site`). `requireOrg(permission)` then checks the caller's role in
 * the route's `{orgId}`; an organisation the caller is not a member of is answered 404, as if it
 * did not exist.
 */
export function createStudioAuth(options: {
  db: Kysely<Database>;
  sessions: StudioSessions;
  trustProxy: number;
}) {
  const { db, sessions, trustProxy } = options;

  const requireSession: MiddlewareHandler<StudioEnv> = async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE);
    const session = token === undefined ? undefined : await sessions.resolve(token);
    if (!session) throw notSignedIn();
    if (!SAFE_METHODS.has(c.req.method)) {
      if (c.req.header("sec-fetch-site") === "cross-site") {
        throw csrfRejected("cross-site requests are refused");
      }
      const sent = c.req.header("x-csrf-token");
      if (sent === undefined || !sameToken(sent, session.csrfToken)) {
        throw csrfRejected("X-CSRF-Token is missing or wrong: reload Studio");
      }
    }
    c.set("studio", {
      session,
      actor: {
        kind: "user",
        userId: session.user.id,
        email: session.user.email,
        ip: clientIp(c, trustProxy),
      },
    });
    await next();
  };

  function requireOrg(permission: Permission): MiddlewareHandler<StudioEnv> {
    return async (c, next) => {
      const { user } = c.get("studio").session;
      const raw = c.req.param("orgId") ?? "";
      const orgId = /^[0-9]{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
      const unknown = () => notFound(`organisation ${raw.slice(0, 32)} not found`);
      if (!Number.isSafeInteger(orgId)) throw unknown();
      let role: OrgAccess["role"];
      if (user.isOperator) {
        const org = await db
          .selectFrom("organizations")
          .select("id")
          .where("id", "=", orgId)
          .executeTakeFirst();
        if (!org) throw unknown();
        role = "operator";
      } else {
        const membership = await db
          .selectFrom("memberships")
          .select("role")
          .where("org_id", "=", orgId)
          .where("user_id", "=", user.id)
          .executeTakeFirst();
        if (!membership) throw unknown();
        role = membership.role;
        if (!roleCan(role, permission)) {
          throw forbidden(`the ${role} role may not do this (needs ${permission})`);
        }
      }
      c.set("org", { orgId, role });
      await next();
    };
  }

  const requireOperator: MiddlewareHandler<StudioEnv> = async (c, next) => {
    if (!c.get("studio").session.user.isOperator) {
      throw forbidden("only the gateway's operators may do this");
    }
    await next();
  };

  return { requireSession, requireOrg, requireOperator };
}

export type StudioAuth = ReturnType<typeof createStudioAuth>;
