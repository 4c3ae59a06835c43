import { fileURLToPath } from "node:url";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { plainPage, readBuiltIndex, serveBuiltAssets } from "../../http/built-page.ts";
import {
  type AppEnv,
  envelope,
  errorResponse,
  intentNotFoundResponse,
  jsonResponse,
  malformedIdResponse,
  tooManyRequestsResponse,
} from "../../http/openapi.ts";
import type { CheckoutLogos } from "../../organizations/checkout-logos.ts";
import { DomainError, notFound } from "../../platform/errors.ts";
import { PAYMENT_INTENT_ID_PATTERN } from "../../platform/ids.ts";
import type { PaymentIntentService } from "../payment-intent-service.ts";
import { CheckoutPayment, ChooseAssetBody, IntentIdParam } from "../schemas.ts";

/** Where `npm run build -w @stablegate/web` puts the page; the gateway runs from its sources. */
export const DEFAULT_CHECKOUT_DIST_DIR = fileURLToPath(
  new URL("../../../../web/dist", import.meta.url),
);

/** The prefix of the page's built files (vite `base` in packages/web/vite.config.ts). */
export const CHECKOUT_ASSETS_PREFIX = "/checkout/";

export interface CheckoutRoutesOptions {
  intents: PaymentIntentService;
  /** The merchants' logos, served at /v1/checkout/logos/{sha256}. */
  logos: CheckoutLogos;
  /** The built page (index.html and assets/); defaults to packages/web/dist. */
  distDir?: string;
  /** How often an open event stream re-reads its intent (default 1 s); tests may shorten it. */
  pollMs?: number;
}

// The stream follows a payment while its `live` is true (intent-wire.ts isCheckoutLive): open,
// a refund under way, or a late payment still possible after the deadline.
// Proxies drop connections that stay silent for a minute or so.
const HEARTBEAT_MS = 15_000;
// A stream ends after this and the browser's EventSource reconnects on its own: no connection
// (and no database reader) lives for hours behind a forgotten tab.
const MAX_STREAM_MS = 5 * 60_000;
// Waiting for a refund, or watching for a late payment after the deadline, takes minutes, not
// seconds: read less often.
const SLOW_POLL_MS = 5_000;

const getCheckoutPaymentRoute = createRoute({
  method: "get",
  path: "/v1/checkout/payment/{id}",
  tags: ["Hosted checkout"],
  summary: "Read a payment for the checkout page",
  description:
    "Public: no credentials. The payment intent id (32 random characters) is the capability, so only what a payer needs is returned: no order_data, callback_url, client or organization ids.",
  security: [],
  request: { params: IntentIdParam },
  responses: {
    200: jsonResponse(envelope(CheckoutPayment), "The payment as the payer sees it"),
    ...malformedIdResponse,
    ...intentNotFoundResponse,
    ...tooManyRequestsResponse,
  },
});

const chooseAssetRoute = createRoute({
  method: "post",
  path: "/v1/checkout/payment/{id}/asset",
  tags: ["Hosted checkout"],
  summary: "Choose the chain and token to pay in (Stablegate extension)",
  description:
    "Public, like the read. Re-quotes the payment in one of the organisation's accepted assets (one of `asset_options`): new rate, amount, token and chain; the deposit address stays the same. Allowed while the payment is pending, before its deadline, with nothing received, and when the merchant did not fix the asset on create (409 / 4076 otherwise). A payment still made in the previously shown asset is recognised, not lost (docs/accepted-assets.md).",
  security: [],
  request: {
    params: IntentIdParam,
    body: { required: true, content: { "application/json": { schema: ChooseAssetBody } } },
  },
  responses: {
    200: jsonResponse(envelope(CheckoutPayment), "The payment re-quoted in the chosen asset"),
    400: errorResponse("Invalid request (4000): an unknown chain or token, or a malformed body"),
    ...intentNotFoundResponse,
    409: errorResponse(
      "The asset can no longer be chosen (4076): paid, expired, something received, or fixed by the merchant",
    ),
    422: errorResponse("The organisation does not accept that chain and token (4075)"),
    ...tooManyRequestsResponse,
  },
});

const checkoutEventsRoute = createRoute({
  method: "get",
  path: "/v1/checkout/payment/{id}/events",
  tags: ["Hosted checkout"],
  summary: "Follow a payment live (server-sent events)",
  description:
    "Public, like the read. An `event: payment` with the CheckoutPayment as JSON data is sent at once and again whenever the payment changes; a comment line every 15 s keeps the connection alive. The stream ends when the payment's `live` turns false (success; or expired or underpaid, its refunds sent, 30 minutes after the deadline), and after 5 minutes (EventSource reconnects). Once the payment has left pending it is read every 5 s instead of every second.",
  security: [],
  request: { params: IntentIdParam },
  responses: {
    200: {
      description: "A text/event-stream of `payment` events",
      content: { "text/event-stream": { schema: z.string() } },
    },
    ...malformedIdResponse,
    ...intentNotFoundResponse,
    ...tooManyRequestsResponse,
  },
});

/**
 * The hosted checkout: its public read and event stream on the API, and the built page at
 * /pay/{payment_intent_id} with its files under /checkout/.
 */
export function registerCheckoutRoutes<E extends AppEnv>(
  app: OpenAPIHono<E>,
  options: CheckoutRoutesOptions,
): void {
  const { intents } = options;
  const distDir = options.distDir ?? DEFAULT_CHECKOUT_DIST_DIR;
  const pollMs = options.pollMs ?? 1_000;

  app.openapi(getCheckoutPaymentRoute, async (c) => {
    const payment = await intents.getForCheckout(c.req.valid("param").id);
    return c.json({ code: 0 as const, data: payment }, 200, { "Cache-Control": "no-store" });
  });

  app.openapi(chooseAssetRoute, async (c) => {
    const payment = await intents.chooseAsset(c.req.valid("param").id, c.req.valid("json"));
    return c.json({ code: 0 as const, data: payment }, 200, { "Cache-Control": "no-store" });
  });

  app.openapi(checkoutEventsRoute, async (c) => {
    const id = c.req.valid("param").id;
    // Read before streaming: an unknown id gets the 404 envelope, not an empty stream.
    let current = await intents.getForCheckout(id);
    c.header("Cache-Control", "no-store");
    // Reverse proxies (nginx) buffer responses unless told not to; events would arrive late.
    c.header("X-Accel-Buffering", "no");
    return streamSSE(
      c,
      async (stream) => {
        // Several gateway processes may share one database and any of them may change the
        // intent, so the stream re-reads it rather than listening to this process's events.
        const started = Date.now();
        let lastSent = fingerprint(current);
        let lastWrite = Date.now();
        await stream.writeSSE({ event: "payment", data: JSON.stringify(current), retry: 2_000 });
        while (!stream.aborted && !stream.closed && current.live) {
          if (Date.now() - started >= MAX_STREAM_MS) break;
          await stream.sleep(
            current.status === "pending" ? pollMs : Math.max(pollMs, SLOW_POLL_MS),
          );
          if (stream.aborted || stream.closed) break;
          current = await intents.getForCheckout(id);
          const next = fingerprint(current);
          if (next !== lastSent) {
            await stream.writeSSE({ event: "payment", data: JSON.stringify(current) });
            lastSent = next;
            lastWrite = Date.now();
          } else if (Date.now() - lastWrite >= HEARTBEAT_MS) {
            await stream.write(": heartbeat\n\n");
            lastWrite = Date.now();
          }
        }
      },
      async (err) => {
        // The browser reconnects (or falls back to polling); the cause is for the operator.
        c.get("log").warn({ err, payment_intent_id: id }, "checkout event stream failed");
      },
    );
  });

  // Content-addressed: the bytes under a URL never change, so browsers and proxies keep them.
  app.get("/v1/checkout/logos/:sha256", async (c) => {
    const logo = await options.logos.get(c.req.param("sha256"));
    if (!logo) throw notFound("no logo is stored under this address");
    return c.body(new Uint8Array(logo.bytes), 200, {
      "Content-Type": logo.contentType,
      "Cache-Control": "public, max-age=31536000, immutable",
      "X-Content-Type-Options": "nosniff",
      "Content-Security-Policy": "default-src 'none'; sandbox",
      ETag: `"${logo.sha256}"`,
    });
  });

  // Only the assets folder: index.html is served by /pay/:id, with its own headers.
  serveBuiltAssets(app, { prefix: CHECKOUT_ASSETS_PREFIX, distDir, notBuilt: notBuiltPage });

  app.get("/pay/:id", async (c) => {
    const id = c.req.param("id");
    c.header("Cache-Control", "no-cache");
    // The link is the capability: keep it out of Referer headers sent to explorers and wallets.
    c.header("Referrer-Policy", "no-referrer");
    if (!PAYMENT_INTENT_ID_PATTERN.test(id) || !(await exists(intents, id))) {
      return c.html(notFoundPage, 404);
    }
    const html = await readBuiltIndex(distDir);
    if (html === null) {
      c.get("log").error(
        { distDir },
        "checkout page is not built: run npm run build -w @stablegate/web",
      );
      return c.html(notBuiltPage, 503);
    }
    return c.html(html, 200, {
      "Content-Security-Policy":
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'",
    });
  });
}

async function exists(intents: PaymentIntentService, id: string): Promise<boolean> {
  try {
    await intents.getForCheckout(id);
    return true;
  } catch (err) {
    if (err instanceof DomainError && err.status === 404) return false;
    throw err;
  }
}

/** What changes for the payer; server_time changes every second and alone is no news. */
function fingerprint(p: CheckoutPayment): string {
  const { server_time: _ignored, ...rest } = p;
  return JSON.stringify(rest);
}

const notFoundPage = plainPage(
  "Payment not found",
  `<h1>Payment not found</h1>
<p>This payment link is not valid. Check that you copied the whole link, or ask the shop for a new one.</p>
<h1 lang="zh-TW">找不到這筆付款</h1>
<p lang="zh-TW">此付款連結無效。請確認連結完整，或向商店索取新的付款連結。</p>`,
);

const notBuiltPage = plainPage(
  "Checkout unavailable",
  `<h1>Checkout page unavailable</h1>
<p>The checkout page has not been built on this server. The operator can build it with
<code>npm run build -w @stablegate/web</code>.</p>`,
);
