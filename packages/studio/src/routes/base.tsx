import type { QueryClient } from "@tanstack/react-query";
import {
  createRootRouteWithContext,
  createRoute,
  notFound,
  Outlet,
  redirect,
} from "@tanstack/react-router";
import { canOpenOrg, sessionQuery, useSession } from "../api/session.ts";
import { AppLayout } from "../layout/app-layout.tsx";
import { NotFoundPage } from "../pages/not-found-page.tsx";

export interface RouterContext {
  queryClient: QueryClient;
}

// The routes every page hangs from. Pages are added in router.tsx; a page reads its params and
// search with getRouteApi("<route id>") so it needs no import of the tree.

export const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: Outlet,
  notFoundComponent: NotFoundPage,
});

/** Every page behind the sign-in: no session, and the browser goes to /login and back. */
export const appRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "app",
  component: AppLayout,
  beforeLoad: async ({ context, location }) => {
    const session = await context.queryClient.ensureQueryData(sessionQuery);
    if (!session) {
      throw redirect({ to: "/login", search: { next: location.href } });
    }
    return { session };
  },
});

/** An organisation's pages: a non-member (other than an operator) finds nothing here. */
export const orgRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "orgs/$orgId",
  params: {
    parse: ({ orgId }) => ({ orgId: Number(orgId) }),
    stringify: ({ orgId }) => ({ orgId: String(orgId) }),
  },
  component: OrgGate,
});

/** Inside the frame, so the navigation of the user's own organisations is there to go back. */
function OrgGate() {
  const session = useSession();
  const { orgId } = orgRoute.useParams();
  return canOpenOrg(session, orgId) ? <Outlet /> : <NotFoundPage />;
}

export const operatorRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "operator",
  beforeLoad: ({ context }) => {
    if (!context.session.user.is_operator) throw notFound();
  },
  component: Outlet,
});
