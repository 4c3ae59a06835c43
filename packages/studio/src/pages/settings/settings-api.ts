import { queryOptions } from "@tanstack/react-query";
import { request } from "../../api/client.ts";

// The organisation's settings and limits (organizations/settings-routes.ts and
// payouts/withdrawal-routes.ts on the gateway).

export interface OrgSettings {
  name: string;
  default_chain_id: string;
  default_token_symbol: string;
  accepted_assets: { chain_id: string; symbol: string }[];
  branding: { display_name: string | null; logo_url: string | null; accent_color: string | null };
}

export interface OrgLimits {
  max_transfer_amount: string | null;
  daily_transfer_cap: string | null;
  withdrawal_approval_threshold: string | null;
}

export const settingsQuery = (orgId: number) =>
  queryOptions({
    queryKey: ["org", orgId, "settings"],
    queryFn: () => request<OrgSettings>("GET", `/v1/admin/orgs/${orgId}/settings`),
  });

export const limitsQuery = (orgId: number) =>
  queryOptions({
    queryKey: ["org", orgId, "limits"],
    queryFn: () => request<OrgLimits>("GET", `/v1/admin/orgs/${orgId}/limits`),
  });
