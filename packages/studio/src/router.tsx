import type { QueryClient } from "@tanstack/react-query";
import { createRoute, createRouter, redirect } from "@tanstack/react-router";
import { AccountPage } from "./pages/account-page.tsx";
import { AuditPage } from "./pages/audit/audit-page.tsx";
import { DevelopersPage } from "./pages/developers/developers-page.tsx";
import { InvitePage } from "./pages/invite-page.tsx";
import { PaymentLinksPage } from "./pages/links/payment-links-page.tsx";
import { LoginPage, validateLoginSearch } from "./pages/login-page.tsx";
import { HealthPage } from "./pages/operator/health-page.tsx";
import { OrganizationsPage } from "./pages/operator/organizations-page.tsx";
import { CallbacksPage, validateCallbacksSearch } from "./pages/payments/callbacks-page.tsx";
import { OverviewPage, validateOverviewSearch } from "./pages/payments/overview-page.tsx";
import { PaymentDetailPage } from "./pages/payments/payment-detail-page.tsx";
import { PaymentsPage, validatePaymentsSearch } from "./pages/payments/payments-page.tsx";
import { SettingsPage } from "./pages/settings/settings-page.tsx";
import { TeamPage } from "./pages/team/team-page.tsx";
import { TreasuryPage } from "./pages/treasury/treasury-page.tsx";
import { WithdrawalsPage } from "./pages/withdrawals/withdrawals-page.tsx";
import { appRoute, operatorRoute, orgRoute, rootRoute } from "./routes/base.tsx";

// Every page of Studio, under /studio (the router's basepath). A page: a component in
// src/pages/<feature>/, one createRoute here, one line in the tree below, and (for the left
// navigation) one line in nav.ts. A page reads its params and search params with
// getRouteApi("<route id>"), e.g. getRouteApi("/app/orgs/$orgId/payments/$paymentId").

const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "login",
  validateSearch: validateLoginSearch,
  component: LoginPage,
});

const inviteRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "invite/$token",
  component: InvitePage,
});

/** /studio: the first organisation, else the operator's list, else the account page. */
const homeRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/",
  beforeLoad: ({ context }) => {
    const first = context.session.memberships[0];
    if (first) throw redirect({ to: "/orgs/$orgId/overview", params: { orgId: first.org_id } });
    if (context.session.user.is_operator) throw redirect({ to: "/operator/organizations" });
    throw redirect({ to: "/account" });
  },
});

const accountRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "account",
  component: AccountPage,
});

const orgHomeRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "/",
  beforeLoad: ({ params }) => {
    throw redirect({ to: "/orgs/$orgId/overview", params });
  },
});

// The organisation's pages.
const overviewRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "overview",
  validateSearch: validateOverviewSearch,
  component: OverviewPage,
});
const paymentsRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "payments",
  validateSearch: validatePaymentsSearch,
  component: PaymentsPage,
});
const paymentRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "payments/$paymentId",
  component: PaymentDetailPage,
});
const callbacksRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "callbacks",
  validateSearch: validateCallbacksSearch,
  component: CallbacksPage,
});
const linksRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "links",
  component: PaymentLinksPage,
});
const withdrawalsRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "withdrawals",
  component: WithdrawalsPage,
});
const treasuryRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "treasury",
  component: TreasuryPage,
});
const developersRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "developers",
  component: DevelopersPage,
});
const teamRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "team",
  component: TeamPage,
});
const settingsRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "settings",
  component: SettingsPage,
});
const auditRoute = createRoute({
  getParentRoute: () => orgRoute,
  path: "audit",
  component: AuditPage,
});

// The operator's pages.
const operatorOrganizationsRoute = createRoute({
  getParentRoute: () => operatorRoute,
  path: "organizations",
  component: OrganizationsPage,
});
const operatorHealthRoute = createRoute({
  getParentRoute: () => operatorRoute,
  path: "health",
  component: HealthPage,
});

const routeTree = rootRoute.addChildren([
  loginRoute,
  inviteRoute,
  appRoute.addChildren([
    homeRoute,
    accountRoute,
    orgRoute.addChildren([
      orgHomeRoute,
      overviewRoute,
      paymentsRoute,
      paymentRoute,
      callbacksRoute,
      linksRoute,
      withdrawalsRoute,
      treasuryRoute,
      developersRoute,
      teamRoute,
      settingsRoute,
      auditRoute,
    ]),
    operatorRoute.addChildren([operatorOrganizationsRoute, operatorHealthRoute]),
  ]),
]);

export function createStudioRouter(queryClient: QueryClient) {
  return createRouter({
    routeTree,
    basepath: "/studio",
    context: { queryClient },
    defaultPreload: "intent",
    // The query cache decides what is fresh; the router only waits for beforeLoad.
    defaultPreloadStaleTime: 0,
    scrollRestoration: true,
  });
}

declare module "@tanstack/react-router" {
  interface Register {
    router: ReturnType<typeof createStudioRouter>;
  }
}
