import { queryOptions, useQuery, useQueryClient } from "@tanstack/react-query";
import { useParams } from "@tanstack/react-router";
import { ApiError, api, setCsrfToken, unwrap } from "./client.ts";
import type { components } from "./schema";

export type Session = components["schemas"]["StudioSession"];
export type Membership = Session["memberships"][number];
export type Role = Membership["role"];

/**
 * What a role may do: the same names as the gateway's admin/roles.ts. The API decides; Studio
 * only hides what would be refused.
 */
export type Permission =
  | "read"
  | "callbacks:write"
  | "keys:write"
  | "clients:write"
  | "links:write"
  | "limits:write"
  | "withdrawals:create"
  | "refunds:write"
  | "withdrawals:approve"
  | "settings:write"
  | "audit:read"
  | "treasury:write"
  | "team:write"
  | "webhook_secret:write";

export const SESSION_KEY = ["session"] as const;

/** The signed-in user, or null when signed out (401 4031 is an answer here, not an error). */
export const sessionQuery = queryOptions({
  queryKey: SESSION_KEY,
  queryFn: async (): Promise<Session | null> => {
    try {
      const session = await unwrap(api.GET("/v1/admin/session"));
      setCsrfToken(session.csrf_token);
      return session;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setCsrfToken(null);
        return null;
      }
      throw err;
    }
  },
  staleTime: 60_000,
});

/** The session inside the signed-in layout (the layout redirects to /login without one). */
export function useSession(): Session {
  const { data } = useQuery(sessionQuery);
  if (!data) throw new Error("useSession outside the signed-in layout");
  return data;
}

/** Stores a session the API just answered with (sign-in, invitation accepted). */
export function useSetSession(): (session: Session | null) => void {
  const client = useQueryClient();
  return (session) => {
    setCsrfToken(session?.csrf_token ?? null);
    if (session === null) client.clear();
    client.setQueryData(SESSION_KEY, session);
  };
}

export interface CurrentOrg {
  id: number;
  name: string;
  /** null for an operator who is not a member: an operator may do everything. */
  role: Role | null;
  can(permission: Permission): boolean;
}

/** A member, or an operator (who may open every organisation). */
export function canOpenOrg(session: Session, orgId: number): boolean {
  return (
    Number.isSafeInteger(orgId) &&
    (session.user.is_operator || session.memberships.some((m) => m.org_id === orgId))
  );
}

/** The organisation of the current /orgs/$orgId page, and what the user may do in it. */
export function orgAccess(session: Session, orgId: number): CurrentOrg {
  const membership = session.memberships.find((m) => m.org_id === orgId);
  const permissions = new Set(membership?.permissions ?? []);
  return {
    id: orgId,
    name: membership?.org_name ?? `#${orgId}`,
    role: membership?.role ?? null,
    can: (p) => session.user.is_operator || permissions.has(p),
  };
}

/**
 * The organisation of the current page.
 *
 * @example
 * const org = useOrg();
 * {org.can("keys:write") && <Button>New key</Button>}
 */
export function useOrg(): CurrentOrg {
  const session = useSession();
  const { orgId } = useParams({ from: "/app/orgs/$orgId" });
  return orgAccess(session, orgId);
}
