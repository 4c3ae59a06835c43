import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import {
  ADMIN_TAG,
  adminAnswers,
  jsonBody,
  OrgParam,
  studioSecurity,
} from "../../admin/admin-openapi.ts";
import type { StudioEnv } from "../../admin/studio-auth.ts";
import type { StudioContext } from "../../admin/studio-context.ts";
import { errorResponse, PageQuery, pageOf } from "../../http/openapi.ts";
import { refineText } from "../../http/well-formed-text.ts";
import { FiatAmount, FiatCurrency } from "../schemas.ts";
import type { PaymentLink } from "./payment-link-service.ts";

const TAG = `${ADMIN_TAG}: Payment links`;

const PaymentLinkView = z
  .object({
    id: z.string(),
    url: z.string().openapi({ description: "Opens the hosted checkout of a new intent" }),
    fiat_amount: z.string(),
    fiat_currency: FiatCurrency,
    description: z.string(),
    reusable: z.boolean(),
    active: z.boolean(),
    uses: z.number().int(),
    intent_id: z
      .string()
      .nullable()
      .openapi({ description: "A one-time link's intent, a reusable link's latest" }),
    created_at: z.string(),
  })
  .openapi("AdminPaymentLink");

const CreateLinkBody = z
  .object({
    fiat_amount: FiatAmount,
    fiat_currency: FiatCurrency,
    description: z.string().max(500).superRefine(refineText).default(""),
    reusable: z.boolean(),
  })
  .strict()
  .openapi("AdminCreatePaymentLink");

const LinkParams = OrgParam.extend({
  linkId: z
    .string()
    .max(64)
    .superRefine(refineText)
    .openapi({ param: { name: "linkId", in: "path" }, example: "pl_4nD0mChars4nD0mChar" }),
});

/** Payment links: made and turned off in Studio, opened by payers at /l/{id}. */
export function registerPaymentLinkRoutes(app: OpenAPIHono<StudioEnv>, ctx: StudioContext): void {
  const { auth, paymentLinks } = ctx;
  // The request's own origin: the gateway as the member reached it, which payers reach too.
  const withUrl = (origin: string) => (link: PaymentLink) => ({
    ...link,
    url: `${origin}/l/${link.id}`,
  });
  const origin = (url: string) => new URL(url).origin;

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/admin/orgs/{orgId}/payment-links",
      tags: [TAG],
      security: studioSecurity,
      middleware: auth.requireOrg("read"),
      summary: "The organisation's payment links, newest first",
      request: { params: OrgParam, query: PageQuery },
      responses: adminAnswers(pageOf(PaymentLinkView), "A page of links"),
    }),
    async (c) => {
      const page = await paymentLinks.list(c.get("org").orgId, c.req.valid("query"));
      return c.json(
        { code: 0 as const, data: { ...page, items: page.items.map(withUrl(origin(c.req.url))) } },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/admin/orgs/{orgId}/payment-links",
      tags: [TAG],
      security: studioSecurity,
      middleware: auth.requireOrg("links:write"),
      summary: "Create a reusable or one-time payment link",
      request: {
        params: OrgParam,
        body: jsonBody(CreateLinkBody),
      },
      responses: {
        ...adminAnswers(PaymentLinkView, "The link"),
        409: errorResponse("The organisation has no client yet (4055)"),
      },
    }),
    async (c) => {
      const link = await paymentLinks.create(
        c.get("org").orgId,
        c.req.valid("json"),
        c.get("studio").actor,
      );
      return c.json({ code: 0 as const, data: withUrl(origin(c.req.url))(link) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "patch",
      path: "/v1/admin/orgs/{orgId}/payment-links/{linkId}",
      tags: [TAG],
      security: studioSecurity,
      middleware: auth.requireOrg("links:write"),
      summary: "Turn a payment link off (its URL then answers 404) or back on",
      request: {
        params: LinkParams,
        body: {
          required: true,
          content: {
            "application/json": {
              schema: z.object({ active: z.boolean() }).strict().openapi("AdminUpdatePaymentLink"),
            },
          },
        },
      },
      responses: adminAnswers(PaymentLinkView, "The link", "Not a member, or no such link (4004)"),
    }),
    async (c) => {
      const link = await paymentLinks.setActive(
        c.get("org").orgId,
        c.req.valid("param").linkId,
        c.req.valid("json").active,
        c.get("studio").actor,
      );
      return c.json({ code: 0 as const, data: withUrl(origin(c.req.url))(link) }, 200);
    },
  );
}
