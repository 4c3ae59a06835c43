import { queryOptions } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client.ts";
import type { components } from "../../api/schema";

// The organisation's settings and limits (organizations/settings-routes.ts and
// payouts/withdrawal-routes.ts on the gateway).

export type OrgSettings = components["schemas"]["AdminOrgSettings"];
export type OrgLimits = components["schemas"]["OrgLimits"];

export const settingsQuery = (orgId: number) =>
  queryOptions({
    queryKey: ["org", orgId, "settings"],
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/settings", { params: { path: { orgId: String(orgId) } } }),
      ),
  });

export const limitsQuery = (orgId: number) =>
  queryOptions({
    queryKey: ["org", orgId, "limits"],
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/limits", { params: { path: { orgId: String(orgId) } } }),
      ),
  });
