import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/openapi.ts";
import {
  envelope,
  errorResponse,
  jsonResponse,
  malformedIdResponse,
  PageQuery,
  tooManyRequestsResponse,
} from "../http/openapi.ts";
import { refineText } from "../http/well-formed-text.ts";
import type { PayoutService } from "./payout-service.ts";
import {
  TransferBody,
  TransferList,
  TransferResult,
  TransferView,
  WalletView,
} from "./transfer-schemas.ts";

const ApiKeyHeaders = z.object({
  "x-studio-api-key": z.string().optional().openapi({ description: "Server-side API key." }),
});

const TransferHeaders = ApiKeyHeaders.extend({
  "idempotency-key": z.string().optional().openapi({
    description:
      "Optional. The same key and body within 24 hours return the first transfer; the same key with another body is refused (409 / 4018).",
    example: "withdrawal-8812",
  }),
});

const authErrors = {
  401: errorResponse("Missing or invalid API key (4002)"),
  ...tooManyRequestsResponse,
} as const;

const transferRoute = createRoute({
  method: "post",
  path: "/v1/studio/api/asset_pro/transfer",
  tags: ["Transfers"],
  summary: "Transfer tokens",
  description:
    "Sends tokens from the organisation's hot wallet. X-STUDIO-API-KEY alone authenticates. The answer comes once the transaction is signed and sent: tx_hash is final unless a stuck transaction is replaced with higher fees (GET the transfer for the current one).",
  request: {
    headers: TransferHeaders,
    body: { required: true, content: { "application/json": { schema: TransferBody } } },
  },
  responses: {
    200: jsonResponse(envelope(TransferResult), "The transfer was signed and sent"),
    400: errorResponse(
      "Invalid request (4000), Balance not enough (4015, data.insufficient_amount), native coin not enough for gas (4017)",
    ),
    ...authErrors,
    403: errorResponse(
      "Risk limit: organisation per-transfer maximum (4019) or daily cap (4020), API key per-transfer maximum (4021) or daily cap (4022)",
    ),
    409: errorResponse("Idempotency-Key already used with a different body (4018)"),
    503: errorResponse("The chain's RPC did not answer (5031)"),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/studio/api/asset_pro/transfer/{id}",
  tags: ["Transfers"],
  summary: "Get a transfer",
  request: {
    headers: ApiKeyHeaders,
    params: z.object({
      id: z
        .string()
        .superRefine(refineText)
        .openapi({ param: { name: "id", in: "path" }, example: "1-1627380000-1" }),
    }),
  },
  responses: {
    200: jsonResponse(envelope(TransferView), "The transfer and its on-chain details"),
    ...malformedIdResponse,
    ...authErrors,
    404: errorResponse("Unknown transfer, or another organisation's (4023)"),
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/studio/api/asset_pro/transfers",
  tags: ["Transfers"],
  summary: "List transfers",
  description: "Newest first.",
  request: {
    headers: ApiKeyHeaders,
    query: PageQuery,
  },
  responses: {
    200: jsonResponse(envelope(TransferList), "A page of transfers"),
    400: errorResponse("Bad query parameter (4000)"),
    ...authErrors,
  },
});

const walletRoute = createRoute({
  method: "get",
  path: "/v1/studio/api/asset_pro/wallet",
  tags: ["Transfers"],
  summary: "The organisation's hot wallet",
  description:
    "Its address (fund it with the tokens to pay out and the chain's native coin for gas) and its balances on every chain this gateway has an RPC URL for.",
  request: { headers: ApiKeyHeaders },
  responses: {
    200: jsonResponse(envelope(WalletView), "Address and balances"),
    ...authErrors,
  },
});

export function registerTransferRoutes(
  app: OpenAPIHono<AppEnv>,
  deps: { payouts: PayoutService; requireApiKey: MiddlewareHandler<AppEnv> },
): void {
  const { payouts } = deps;
  app.use("/v1/studio/api/asset_pro/*", deps.requireApiKey);

  app.openapi(transferRoute, async (c) => {
    const result = await payouts.transfer(
      c.get("caller"),
      c.req.valid("json"),
      c.req.header("idempotency-key"),
    );
    return c.json({ code: 0 as const, data: result }, 200);
  });
  app.openapi(getRoute, async (c) => {
    const transfer = await payouts.get(c.get("caller"), c.req.valid("param").id);
    return c.json({ code: 0 as const, data: transfer }, 200);
  });
  app.openapi(listRoute, async (c) => {
    const page = await payouts.list(c.get("caller"), c.req.valid("query"));
    return c.json({ code: 0 as const, data: page }, 200);
  });
  app.openapi(walletRoute, async (c) => {
    const wallet = await payouts.wallet(c.get("caller"));
    return c.json({ code: 0 as const, data: wallet }, 200);
  });
}
