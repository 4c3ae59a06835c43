import type { OrgRole } from "../platform/database/schema.ts";

export type { OrgRole };
export const ORG_ROLES = ["owner", "admin", "developer", "viewer"] as const satisfies OrgRole[];

/**
 * What each role of an organisation may do. The admin API checks one of these on every route
 * (`requireOrg(permission)`); Studio hides what the signed-in role lacks, but the API decides.
 * An operator may do all of them in every organisation.
 */
export const PERMISSIONS = {
  /** Overview, payments, callbacks, withdrawals, treasury, keys (never their secrets), exports. */
  read: ["owner", "admin", "developer", "viewer"],
  /** Resend a callback, send a test event. */
  "callbacks:write": ["owner", "admin", "developer"],
  /** Create, rename and revoke API keys. */
  "keys:write": ["owner", "admin", "developer"],
  /** Clients, their allowed origins and callback hosts. */
  "clients:write": ["owner", "admin", "developer"],
  "links:write": ["owner", "admin"],
  "limits:write": ["owner", "admin"],
  "withdrawals:create": ["owner", "admin"],
  /** Refund all or part of a payment from its deposit address. */
  "refunds:write": ["owner", "admin"],
  /** Approve (or reject) another member's withdrawal above the approval threshold. */
  "withdrawals:approve": ["owner", "admin"],
  /** Organisation name and checkout branding. */
  "settings:write": ["owner", "admin"],
  "audit:read": ["owner", "admin"],
  /** The treasury address (with a second factor). */
  "treasury:write": ["owner"],
  /** Members, roles, invitations. */
  "team:write": ["owner"],
  "webhook_secret:write": ["owner"],
} as const satisfies Record<string, readonly OrgRole[]>;

export type Permission = keyof typeof PERMISSIONS;

export function roleCan(role: OrgRole, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly OrgRole[]).includes(role);
}

/** The permissions a role has: what Studio shows the signed-in member. */
export function permissionsOf(role: OrgRole): Permission[] {
  return (Object.keys(PERMISSIONS) as Permission[]).filter((p) => roleCan(role, p));
}
