import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { ADMIN_TAG, adminAnswers, OrgParam, studioSecurity } from "../admin/admin-openapi.ts";
import type { StudioEnv } from "../admin/studio-auth.ts";
import type { StudioContext } from "../admin/studio-context.ts";
import { errorResponse, PageQuery, pageOf } from "../http/openapi.ts";
import { WalletView } from "../payouts/transfer-schemas.ts";

const TAG = `${ADMIN_TAG}: Treasury`;

const Collection = z.object({
  payment_intent_id: z.string(),
  chain_id: z.string(),
  symbol: z.string(),
  amount: z.string().nullable().openapi({ description: "To the treasury (null while waiting)." }),
  fee: z.string().nullable().openapi({ description: "The operator's fee." }),
  state: z.enum(["waiting_treasury", "pending", "submitted", "confirmed", "failed"]),
  treasury_address: z.string().nullable(),
  tx_hash: z.string().nullable(),
  fee_tx_hash: z.string().nullable(),
  explorer_url: z.string().nullable(),
  error: z.string().nullable(),
  created_at: z.string(),
});

const Treasury = z
  .object({
    treasury_address: z.string().nullable().openapi({
      description: "Where successful payments are collected; null: collections wait for one.",
    }),
    fee_bps: z.number().int(),
    hot_wallets: z.array(
      z.object({
        chain_id: z.string(),
        address: z.string(),
        native_balance: z.string().nullable(),
        balances: WalletView.shape.chains.element.shape.tokens,
        error: z.string().nullable(),
      }),
    ),
    collections: pageOf(Collection),
  })
  .openapi("Treasury");

const TreasuryAddressBody = z
  .object({
    address: z
      .string({ error: (i) => (i.input === undefined ? "is required" : "must be a string") })
      .openapi({ example: "0x3fE5aC82B997255b8226abb6aEfd91f405fe2e8e" }),
    totp_code: z
      .string({ error: "must be a string of 6 digits" })
      .optional()
      .openapi({ example: "123456", description: "The owner's current TOTP code (required)." }),
  })
  .openapi("TreasuryAddressChange");

const TreasurySettings = z
  .object({
    org_id: z.number().int(),
    treasury_address: z.string().nullable(),
    fee_bps: z.number().int(),
  })
  .openapi("TreasurySettings");

/** Studio's treasury page: collections, hot wallet balances, and the treasury address (owner + TOTP). */
export function registerTreasuryRoutes(app: OpenAPIHono<StudioEnv>, ctx: StudioContext): void {
  const { auth, treasury } = ctx;

  const getRoute = createRoute({
    method: "get",
    path: "/v1/admin/orgs/{orgId}/treasury",
    tags: [TAG],
    summary: "Treasury address, fee, hot wallet balances and a page of collections",
    security: studioSecurity,
    middleware: [auth.requireOrg("read")] as const,
    request: { params: OrgParam, query: PageQuery },
    responses: adminAnswers(Treasury, "The treasury"),
  });
  app.openapi(getRoute, async (c) => {
    const view = await treasury.get(c.get("org").orgId, c.req.valid("query"));
    return c.json({ code: 0 as const, data: view }, 200);
  });

  const putAddressRoute = createRoute({
    method: "put",
    path: "/v1/admin/orgs/{orgId}/treasury/address",
    tags: [TAG],
    summary: "Change where payments are collected (owner, with a TOTP code)",
    security: studioSecurity,
    middleware: [auth.requireOrg("treasury:write")] as const,
    request: {
      params: OrgParam,
      body: { required: true, content: { "application/json": { schema: TreasuryAddressBody } } },
    },
    responses: {
      ...adminAnswers(TreasurySettings, "The new settings"),
      403: errorResponse(
        "Not the owner (4032), CSRF (4033), no second factor set up (4036), wrong code (4037)",
      ),
    },
  });
  app.openapi(putAddressRoute, async (c) => {
    const { address, totp_code } = c.req.valid("json");
    const { session, actor } = c.get("studio");
    const settings = await treasury.changeAddress(
      c.get("org").orgId,
      { userId: session.user.id, actor },
      address,
      totp_code,
    );
    return c.json({ code: 0 as const, data: settings }, 200);
  });
}
