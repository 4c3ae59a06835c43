import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import {
  ADMIN_TAG,
  adminAnswers,
  jsonBody,
  OrgParam,
  studioSecurity,
} from "../admin/admin-openapi.ts";
import { roleCan } from "../admin/roles.ts";
import { forbidden, type StudioEnv } from "../admin/studio-auth.ts";
import type { StudioContext } from "../admin/studio-context.ts";
import { refineText } from "../http/well-formed-text.ts";
import type { ApiKeyInfo, Client } from "./tenancy-service.ts";

const TAG = `${ADMIN_TAG}: Developers`;
const NOT_FOUND = "Not a member, or no such key or client (4004)";

const LimitAmount = z
  .string()
  .nullable()
  .openapi({ example: "1000", description: "A decimal token amount; null removes the limit." });

const ApiKey = z
  .object({
    id: z.number().int(),
    name: z.string(),
    prefix: z
      .string()
      .openapi({ description: "The secret's first characters, to tell keys apart" }),
    created_at: z.string(),
    last_used_at: z.string().nullable().openapi({ description: "Updated at most once a minute" }),
    revoked_at: z.string().nullable(),
    max_transfer_amount: z.string().nullable(),
    daily_transfer_cap: z.string().nullable(),
  })
  .openapi("AdminApiKey");

const CreatedApiKey = ApiKey.extend({
  secret: z.string().openapi({ description: "The key: shown in this answer only, never again" }),
}).openapi("AdminCreatedApiKey");

const KeyName = z.string().max(200).superRefine(refineText);

const CreateKeyBody = z
  .object({
    name: KeyName,
    max_transfer_amount: LimitAmount.optional(),
    daily_transfer_cap: LimitAmount.optional(),
  })
  .strict()
  .openapi("AdminCreateApiKey");

const UpdateKeyBody = z
  .object({
    name: KeyName.optional(),
    limits: z
      .object({
        max_transfer_amount: LimitAmount.optional(),
        daily_transfer_cap: LimitAmount.optional(),
      })
      .strict()
      .optional()
      .openapi({
        description: "This key's own transfer limits; needs the limits:write permission",
      }),
  })
  .strict()
  .openapi("AdminUpdateApiKey");

const KeyParams = OrgParam.extend({
  keyId: z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/, "must be an API key id")
    .openapi({ param: { name: "keyId", in: "path" }, example: "3" }),
});

const ClientView = z
  .object({
    client_id: z.string(),
    name: z.string(),
    allowed_origins: z.array(z.string()),
    allowed_callback_hosts: z.array(z.string()),
    created_at: z.string(),
  })
  .openapi("AdminClient");

const Origins = z
  .array(z.string().max(300).superRefine(refineText))
  .max(50)
  .openapi({ example: ["https://shop.example"] });
const CallbackHosts = z
  .array(z.string().max(300).superRefine(refineText))
  .max(50)
  .openapi({ example: ["shop.example"], description: "Host names, or * for any; [] for none" });

const CreateClientBody = z
  .object({
    name: KeyName,
    allowed_origins: Origins,
    allowed_callback_hosts: CallbackHosts.default([]),
  })
  .strict()
  .openapi("AdminCreateClient");

const UpdateClientBody = z
  .object({
    name: KeyName.optional(),
    allowed_origins: Origins.optional(),
    allowed_callback_hosts: CallbackHosts.optional(),
  })
  .strict()
  .openapi("AdminUpdateClient");

const ClientParams = OrgParam.extend({
  clientId: z
    .string()
    .regex(/^[0-9a-f]{32}$/, "must be a client id")
    .openapi({ param: { name: "clientId", in: "path" } }),
});

const WebhookSecretInfo = z
  .object({
    created_at: z.string().openapi({ description: "When the current secret was made" }),
    previous_expires_at: z
      .string()
      .nullable()
      .openapi({ description: "Until when the replaced secret still signs; null: none does" }),
  })
  .openapi("AdminWebhookSecret");

const RotatedWebhookSecret = z
  .object({
    secret: z.string().openapi({ description: "The new secret: shown in this answer only" }),
    previous_valid_until: z.string(),
  })
  .openapi("AdminRotatedWebhookSecret");

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

const keyView = (k: ApiKeyInfo) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  created_at: new Date(k.created_at).toISOString(),
  last_used_at: iso(k.last_used_at),
  revoked_at: iso(k.revoked_at),
  max_transfer_amount: k.max_transfer_amount,
  daily_transfer_cap: k.daily_transfer_cap,
});

const clientView = (c: Client) => ({
  client_id: c.clientId,
  name: c.name,
  allowed_origins: c.allowedOrigins,
  allowed_callback_hosts: c.allowedCallbackHosts,
  created_at: c.createdAt.toISOString(),
});

const limitsInput = (l: {
  max_transfer_amount?: string | null;
  daily_transfer_cap?: string | null;
}) => ({
  ...(l.max_transfer_amount === undefined ? {} : { maxTransfer: l.max_transfer_amount }),
  ...(l.daily_transfer_cap === undefined ? {} : { dailyCap: l.daily_transfer_cap }),
});

/**
 * API keys, clients and the webhook secret of an organisation (Studio's Developers page). The
 * changes are the CLI's (organizations/tenancy-service.ts), scoped to the URL's organisation.
 */
export function registerDeveloperRoutes(app: OpenAPIHono<StudioEnv>, ctx: StudioContext): void {
  const { auth, tenancy, webhookSecrets } = ctx;
  const route = <M extends "get" | "post" | "patch" | "delete", P extends string>(
    method: M,
    path: P,
    permission: Parameters<typeof auth.requireOrg>[0],
  ) => ({
    method,
    path,
    tags: [TAG],
    security: studioSecurity,
    middleware: auth.requireOrg(permission),
  });

  /** Limits are a money setting: a developer may make keys, not raise what they may send. */
  const requireLimitsWrite = (c: { get(key: "org"): StudioEnv["Variables"]["org"] }) => {
    const { role } = c.get("org");
    if (role !== "operator" && !roleCan(role, "limits:write")) {
      throw forbidden(`the ${role} role may not set transfer limits (needs limits:write)`);
    }
  };

  app.openapi(
    createRoute({
      ...route("get", "/v1/admin/orgs/{orgId}/keys", "read"),
      summary: "The organisation's API keys (never their secrets)",
      request: { params: OrgParam },
      responses: adminAnswers(z.array(ApiKey), "The keys, oldest first", NOT_FOUND),
    }),
    async (c) => {
      const keys = await tenancy.listApiKeys(c.get("org").orgId);
      return c.json({ code: 0 as const, data: keys.map(keyView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...route("post", "/v1/admin/orgs/{orgId}/keys", "keys:write"),
      summary: "Create an API key; its secret is in this answer only",
      description: "Setting max_transfer_amount or daily_transfer_cap needs limits:write.",
      request: {
        params: OrgParam,
        body: jsonBody(CreateKeyBody),
      },
      responses: adminAnswers(CreatedApiKey, "The key and its secret", NOT_FOUND),
    }),
    async (c) => {
      const body = c.req.valid("json");
      const limits = limitsInput(body);
      if (Object.keys(limits).length > 0) requireLimitsWrite(c);
      const created = await tenancy.createApiKey(
        { orgId: c.get("org").orgId, name: body.name, limits },
        { actor: c.get("studio").actor },
      );
      return c.json(
        { code: 0 as const, data: { ...keyView(created.key), secret: created.secret } },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      ...route("patch", "/v1/admin/orgs/{orgId}/keys/{keyId}", "keys:write"),
      summary: "Rename an API key, or set its own transfer limits (limits:write)",
      request: {
        params: KeyParams,
        body: jsonBody(UpdateKeyBody),
      },
      responses: adminAnswers(ApiKey, "The key", NOT_FOUND),
    }),
    async (c) => {
      const body = c.req.valid("json");
      if (body.limits !== undefined) requireLimitsWrite(c);
      const key = await tenancy.updateApiKey(
        Number(c.req.valid("param").keyId),
        {
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.limits === undefined ? {} : { limits: limitsInput(body.limits) }),
        },
        { orgId: c.get("org").orgId, actor: c.get("studio").actor },
      );
      return c.json({ code: 0 as const, data: keyView(key) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...route("delete", "/v1/admin/orgs/{orgId}/keys/{keyId}", "keys:write"),
      summary: "Revoke an API key: refused by the API at once (401 4002)",
      request: { params: KeyParams },
      responses: adminAnswers(ApiKey, "The revoked key", NOT_FOUND),
    }),
    async (c) => {
      const key = await tenancy.revokeApiKey(Number(c.req.valid("param").keyId), {
        orgId: c.get("org").orgId,
        actor: c.get("studio").actor,
      });
      return c.json({ code: 0 as const, data: keyView(key) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...route("get", "/v1/admin/orgs/{orgId}/clients", "read"),
      summary: "The organisation's clients, their allowed origins and callback hosts",
      request: { params: OrgParam },
      responses: adminAnswers(z.array(ClientView), "The clients, oldest first", NOT_FOUND),
    }),
    async (c) => {
      const clients = await tenancy.listClients(c.get("org").orgId);
      return c.json({ code: 0 as const, data: clients.map(clientView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...route("post", "/v1/admin/orgs/{orgId}/clients", "clients:write"),
      summary: "Create a client (a client_id for browser calls from the allowed origins)",
      request: {
        params: OrgParam,
        body: jsonBody(CreateClientBody),
      },
      responses: adminAnswers(ClientView, "The client", NOT_FOUND),
    }),
    async (c) => {
      const body = c.req.valid("json");
      const client = await tenancy.createClient(
        {
          orgId: c.get("org").orgId,
          name: body.name,
          allowedOrigins: body.allowed_origins,
          allowedCallbackHosts: body.allowed_callback_hosts,
        },
        { actor: c.get("studio").actor },
      );
      return c.json({ code: 0 as const, data: clientView(client) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...route("patch", "/v1/admin/orgs/{orgId}/clients/{clientId}", "clients:write"),
      summary: "Rename a client or replace its allowed origins or callback hosts",
      request: {
        params: ClientParams,
        body: jsonBody(UpdateClientBody),
      },
      responses: adminAnswers(ClientView, "The client", NOT_FOUND),
    }),
    async (c) => {
      const body = c.req.valid("json");
      const client = await tenancy.updateClient(
        c.req.valid("param").clientId,
        {
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.allowed_origins === undefined ? {} : { allowedOrigins: body.allowed_origins }),
          ...(body.allowed_callback_hosts === undefined
            ? {}
            : { allowedCallbackHosts: body.allowed_callback_hosts }),
        },
        { orgId: c.get("org").orgId, actor: c.get("studio").actor },
      );
      return c.json({ code: 0 as const, data: clientView(client) }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...route("get", "/v1/admin/orgs/{orgId}/webhook-secret", "read"),
      summary: "When the webhook signing secret was made (never the secret)",
      request: { params: OrgParam },
      responses: adminAnswers(WebhookSecretInfo, "The current secret's dates", NOT_FOUND),
    }),
    async (c) => {
      const info = await webhookSecrets.describe(c.get("org").orgId);
      return c.json(
        {
          code: 0 as const,
          data: {
            created_at: info.createdAt.toISOString(),
            previous_expires_at: iso(info.previousExpiresAt),
          },
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      ...route("post", "/v1/admin/orgs/{orgId}/webhook-secret/rotate", "webhook_secret:write"),
      summary: "Make a new webhook secret; the old one keeps signing for 24 hours",
      description:
        "During the overlap each callback carries one signature per secret, so a receiver verifies with either.",
      request: { params: OrgParam },
      responses: adminAnswers(RotatedWebhookSecret, "The new secret (shown once)", NOT_FOUND),
    }),
    async (c) => {
      const { secret, previousValidUntil } = await webhookSecrets.rotate(
        c.get("org").orgId,
        c.get("studio").actor,
      );
      return c.json(
        {
          code: 0 as const,
          data: { secret, previous_valid_until: previousValidUntil.toISOString() },
        },
        200,
      );
    },
  );
}
