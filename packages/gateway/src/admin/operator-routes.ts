import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { envelope, errorResponse, jsonResponse, PageQuery, pageOf } from "../http/openapi.ts";
import { normaliseEmail } from "./account-service.ts";
import { ADMIN_TAG, adminErrorResponses, OrgParam, studioSecurity } from "./admin-openapi.ts";
import { emailInvitation } from "./invitation-mail.ts";
import { createLoginThrottle } from "./login-throttle.ts";
import { readOperatorHealth } from "./operator-health.ts";
import { createOperatorService } from "./operator-service.ts";
import type { StudioEnv } from "./studio-auth.ts";
import type { StudioContext } from "./studio-context.ts";
import { publicOrigin } from "./team-routes.ts";
import { createTeamService } from "./team-service.ts";

const TAGS = [`${ADMIN_TAG}: Operator`];
const json = <T extends z.ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});
const Name = z.string().trim().min(1).max(200);
const FeeBps = z
  .number()
  .int()
  .min(0)
  .openapi({ description: "The operator's fee on each collection, in basis points" });

const OperatorOrganization = z
  .object({
    id: z.number().int(),
    name: z.string(),
    default_chain_id: z.string(),
    default_token_symbol: z.string(),
    fee_bps: z.number().int(),
    suspended_at: z.string().nullable(),
    members: z.number().int(),
    created_at: z.string(),
  })
  .openapi("OperatorOrganization");

const listRoute = createRoute({
  method: "get",
  path: "/v1/admin/operator/organizations",
  tags: TAGS,
  summary: "Every organisation on the gateway",
  security: studioSecurity,
  request: { query: PageQuery },
  responses: {
    200: jsonResponse(envelope(pageOf(OperatorOrganization)), "One page of organisations"),
    ...adminErrorResponses,
  },
});

const createOrgRoute = createRoute({
  method: "post",
  path: "/v1/admin/operator/organizations",
  tags: TAGS,
  summary: "Create an organisation and invite its owner (the link is shown once)",
  security: studioSecurity,
  request: json(
    z.object({
      name: Name,
      default_chain_id: z.string().min(1).max(32),
      default_token_symbol: z.string().min(1).max(16),
      fee_bps: FeeBps.optional(),
      owner_email: z.string().email().max(320),
    }),
  ),
  responses: {
    200: jsonResponse(
      envelope(
        z.object({
          organization: OperatorOrganization,
          invitation: z.object({
            url: z.string(),
            expires_at: z.string(),
            email_sent: z.boolean().openapi({
              description:
                "Whether the link was also emailed to the owner (SMTP_URL set and its server took it)",
            }),
          }),
        }),
      ),
      "The organisation and its owner's invitation",
    ),
    ...adminErrorResponses,
  },
});

const patchRoute = createRoute({
  method: "patch",
  path: "/v1/admin/operator/organizations/{orgId}",
  tags: TAGS,
  summary: "Rename an organisation, set its fee, suspend or resume it",
  description:
    "While suspended, the organisation's API keys and clients are refused (403 4065); Studio still opens for its members.",
  security: studioSecurity,
  request: {
    params: OrgParam,
    ...json(
      z.object({
        name: Name.optional(),
        fee_bps: FeeBps.optional(),
        suspended: z.boolean().optional(),
      }),
    ),
  },
  responses: {
    200: jsonResponse(envelope(OperatorOrganization), "The organisation"),
    ...adminErrorResponses,
    404: errorResponse("No such organisation (4004)"),
  },
});

const Health = z
  .object({
    chains: z.array(
      z.object({
        chain_id: z.string(),
        head: z.number().nullable(),
        processed: z.number().nullable(),
        lag: z.number().nullable(),
        ready: z.boolean(),
        problem: z.enum(["not_followed", "stalled", "lagging"]).nullable(),
        message: z.string().nullable(),
        rpc_urls: z.array(z.object({ host: z.string(), up: z.boolean() })),
      }),
    ),
    callbacks: z.object({
      due: z.number().int(),
      oldest_due_at: z.string().nullable(),
      failing_endpoints: z.number().int(),
    }),
    transactions: z.object({ pending: z.number().int(), stuck: z.number().int() }),
    wallets: z.array(
      z.object({
        chain_id: z.string(),
        role: z.enum(["gas", "fee"]),
        address: z.string(),
        native_balance: z.string().nullable(),
        low: z.boolean(),
      }),
    ),
  })
  .openapi("OperatorHealth");

const healthRoute = createRoute({
  method: "get",
  path: "/v1/admin/operator/health",
  tags: TAGS,
  summary:
    "Chains, RPC URLs (hosts only), callbacks due, outgoing transactions, gas and fee wallets",
  security: studioSecurity,
  responses: {
    200: jsonResponse(envelope(Health), "The gateway's health"),
    ...adminErrorResponses,
  },
});

const Amount = z.string().openapi({ description: "Base units (wei for native coin), signed" });

const Reconciliation = z
  .object({
    ok: z.boolean().openapi({ description: "No difference anywhere" }),
    at: z.string(),
    chains: z.array(
      z.object({
        chain: z.string(),
        block: z.string().nullable().openapi({ description: "The block every balance is read at" }),
        note: z.string().optional(),
      }),
    ),
    accounts: z.array(
      z.object({
        chain: z.string(),
        block: z.string(),
        kind: z.string(),
        address: z.string(),
        asset: z.string().openapi({ description: "'native' or the token's address" }),
        org_id: z.number().int().nullable(),
        payment_intent_id: z.string().nullable(),
        ledger: Amount,
        onchain: Amount.nullable(),
        difference: Amount.nullable(),
        error: z.string().optional().openapi({
          description: "Why the chain's balance could not be read (then onchain is null)",
        }),
        compared: z.boolean().openapi({
          description:
            "False for native coin on the gateway's wallets (funded from outside, unseen)",
        }),
        entries: z
          .array(
            z.object({
              id: z.string(),
              ref: z.string(),
              kind: z.string(),
              block: z.string(),
              amount: Amount,
            }),
          )
          .optional(),
      }),
    ),
    intents: z.array(
      z.object({
        payment_intent_id: z.string(),
        chain: z.string(),
        asset: z.string(),
        received: Amount,
        refunded: Amount,
        collected: Amount,
        fee: Amount,
        held: Amount,
        problems: z.array(z.string()),
      }),
    ),
    unbalanced_entries: z.array(
      z.object({ id: z.string(), ref: z.string(), asset: z.string(), sum: Amount }),
    ),
    differences: z.number().int(),
  })
  .openapi("Reconciliation");

const reconcileRoute = createRoute({
  method: "get",
  path: "/v1/admin/operator/reconciliation",
  tags: TAGS,
  summary:
    "The ledger against the chain: every address the gateway controls and every token, at the last confirmed block (as `stablegate reconcile`)",
  security: studioSecurity,
  responses: {
    200: jsonResponse(envelope(Reconciliation), "The reconciliation report"),
    ...adminErrorResponses,
  },
});

export function registerOperatorRoutes(app: OpenAPIHono<StudioEnv>, ctx: StudioContext): void {
  const team = createTeamService({ db: ctx.db, throttle: createLoginThrottle({ db: ctx.db }) });
  const operator = createOperatorService({ db: ctx.db, tenancy: ctx.tenancy, team });
  app.use("/v1/admin/operator/*", ctx.auth.requireOperator);

  app.openapi(listRoute, async (c) =>
    c.json({ code: 0 as const, data: await operator.list(c.req.valid("query")) }, 200),
  );

  app.openapi(createOrgRoute, async (c) => {
    const body = c.req.valid("json");
    const { organization, invitation } = await operator.create(c.get("studio").actor, {
      name: body.name,
      defaultChainId: body.default_chain_id,
      defaultTokenSymbol: body.default_token_symbol,
      feeBps: body.fee_bps,
      ownerEmail: normaliseEmail(body.owner_email),
    });
    const url = `${publicOrigin(c, ctx.trustProxy)}/studio/invite/${invitation.token}`;
    const emailSent = await emailInvitation(ctx.invitationMailer, {
      to: normaliseEmail(body.owner_email),
      orgName: organization.name,
      role: "owner",
      url,
      expiresAt: invitation.expiresAt,
      actor: c.get("studio").actor,
    });
    const data = {
      organization,
      invitation: { url, expires_at: invitation.expiresAt.toISOString(), email_sent: emailSent },
    };
    return c.json({ code: 0 as const, data }, 200);
  });

  app.openapi(patchRoute, async (c) => {
    const body = c.req.valid("json");
    const data = await operator.update(c.get("studio").actor, Number(c.req.valid("param").orgId), {
      name: body.name,
      feeBps: body.fee_bps,
      suspended: body.suspended,
    });
    return c.json({ code: 0 as const, data }, 200);
  });

  app.openapi(reconcileRoute, async (c) =>
    c.json({ code: 0 as const, data: await ctx.reconciler.reconcile({ attempts: 1 }) }, 200),
  );

  app.openapi(healthRoute, async (c) =>
    c.json({ code: 0 as const, data: await readOperatorHealth(ctx.db, ctx.health) }, 200),
  );
}
