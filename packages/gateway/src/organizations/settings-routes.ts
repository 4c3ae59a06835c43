import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import {
  ADMIN_TAG,
  adminAnswers,
  jsonBody,
  OrgParam,
  studioSecurity,
} from "../admin/admin-openapi.ts";
import type { StudioEnv } from "../admin/studio-auth.ts";
import type { StudioContext } from "../admin/studio-context.ts";
import { refineText } from "../http/well-formed-text.ts";
import { LOGO_DATA_URL_MAX_CHARS } from "./org-settings.ts";

const TAG = `${ADMIN_TAG}: Settings`;

const Branding = z.object({
  display_name: z.string().nullable().openapi({ description: "Shown to payers; null: the name" }),
  logo_url: z
    .string()
    .nullable()
    .openapi({
      description: `A base64 PNG/JPEG/GIF/WebP data: URL of at most ${LOGO_DATA_URL_MAX_CHARS} characters (uploads only: the gateway stores the image and serves it to the checkout from /v1/checkout/logos/<sha256>)`,
    }),
  accent_color: z.string().nullable().openapi({ example: "#0f766e" }),
});

const AcceptedAsset = z
  .object({
    chain_id: z.string().max(64).openapi({ example: "base" }),
    symbol: z.string().max(64).openapi({ example: "USDC" }),
  })
  .strict()
  .openapi("AcceptedAsset");

const Settings = z
  .object({
    name: z.string(),
    default_chain_id: z.string().openapi({ example: "arb" }),
    default_token_symbol: z.string().openapi({ example: "USDT" }),
    accepted_assets: z.array(AcceptedAsset).openapi({
      description:
        "The chains and tokens payers may pay in, the default pair first; with more than one, the payer chooses on the checkout unless the merchant fixed the asset on create",
    }),
    branding: Branding,
  })
  .openapi("AdminOrgSettings");

const Text = z.string().max(LOGO_DATA_URL_MAX_CHARS).superRefine(refineText);

const UpdateSettingsBody = z
  .object({
    name: Text.optional(),
    default_chain_id: Text.optional(),
    default_token_symbol: Text.optional(),
    accepted_assets: z.array(AcceptedAsset).max(50).optional().openapi({
      description:
        "The whole new set; the default pair is always added. Only chains this gateway watches (with RPC URLs) are allowed; chain aliases such as matic are accepted",
    }),
    branding: z
      .object({
        display_name: Text.nullable().optional(),
        logo_url: Text.nullable().optional(),
        accent_color: Text.nullable().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .openapi("AdminUpdateOrgSettings");

/** The organisation's name, default chain and token, and checkout branding. */
export function registerSettingsRoutes(app: OpenAPIHono<StudioEnv>, ctx: StudioContext): void {
  const { auth, orgSettings } = ctx;

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/admin/orgs/{orgId}/settings",
      tags: [TAG],
      security: studioSecurity,
      middleware: auth.requireOrg("read"),
      summary: "The organisation's settings and checkout branding",
      request: { params: OrgParam },
      responses: adminAnswers(Settings, "The settings"),
    }),
    async (c) => c.json({ code: 0 as const, data: await orgSettings.get(c.get("org").orgId) }, 200),
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/v1/admin/orgs/{orgId}/settings",
      tags: [TAG],
      security: studioSecurity,
      middleware: auth.requireOrg("settings:write"),
      summary: "Change the name, default chain and token, or branding (null: back to default)",
      request: {
        params: OrgParam,
        body: jsonBody(UpdateSettingsBody),
      },
      responses: adminAnswers(Settings, "The settings after the change"),
    }),
    async (c) => {
      const settings = await orgSettings.update(
        c.get("org").orgId,
        c.req.valid("json"),
        c.get("studio").actor,
      );
      return c.json({ code: 0 as const, data: settings }, 200);
    },
  );
}
