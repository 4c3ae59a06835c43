import type { LinkProps } from "@tanstack/react-router";
import type { Permission } from "./api/session.ts";
import type { MessageKey } from "./i18n/index.tsx";

/** A page of the route tree (router.tsx): a typo here is a type error. */
export type Path = NonNullable<LinkProps["to"]>;

/**
 * The left navigation. An entry shows when the member's role has its permission (the page's
 * own buttons check their write permissions); add one line per page, in the order shown.
 */
export const ORG_NAV = [
  { to: "/orgs/$orgId/overview", label: "navOverview", permission: "read" },
  { to: "/orgs/$orgId/payments", label: "navPayments", permission: "read" },
  { to: "/orgs/$orgId/links", label: "navLinks", permission: "read" },
  { to: "/orgs/$orgId/callbacks", label: "navCallbacks", permission: "read" },
  { to: "/orgs/$orgId/withdrawals", label: "navWithdrawals", permission: "read" },
  { to: "/orgs/$orgId/treasury", label: "navTreasury", permission: "read" },
  { to: "/orgs/$orgId/developers", label: "navDevelopers", permission: "read" },
  { to: "/orgs/$orgId/team", label: "navTeam", permission: "read" },
  { to: "/orgs/$orgId/settings", label: "navSettings", permission: "read" },
  { to: "/orgs/$orgId/audit", label: "navAudit", permission: "audit:read" },
] as const satisfies readonly { to: Path; label: MessageKey; permission: Permission }[];

/** Shown to operators only. */
export const OPERATOR_NAV = [
  { to: "/operator/organizations", label: "navOrganizations" },
  { to: "/operator/health", label: "navHealth" },
] as const satisfies readonly { to: Path; label: MessageKey }[];
