import type { OpenAPIHono } from "@hono/zod-openapi";
import { plainPage } from "../../http/built-page.ts";
import type { AppEnv } from "../../http/openapi.ts";
import { DomainError } from "../../platform/errors.ts";
import type { PaymentLinks } from "./payment-link-service.ts";

const notFoundPage = plainPage(
  "Payment link not found",
  `<h1>Payment link not found</h1>
<p>This payment link does not exist or was turned off by the shop. Ask the shop for a new one.</p>
<h1 lang="zh-TW">找不到付款連結</h1>
<p lang="zh-TW">此付款連結不存在或已被商店停用。請向商店索取新的付款連結。</p>`,
);

const usedPage = plainPage(
  "Payment link used",
  `<h1>This payment link was used</h1>
<p>It could be paid once, and it has been. If you still need to pay, ask the shop for a new link.</p>
<h1 lang="zh-TW">此付款連結已使用</h1>
<p lang="zh-TW">此連結只能付款一次，且已被使用。如仍需付款，請向商店索取新的連結。</p>`,
);

const unavailablePage = plainPage(
  "Payment unavailable",
  `<h1>Payment unavailable right now</h1>
<p>The payment could not be prepared. Try again in a minute.</p>
<h1 lang="zh-TW">暫時無法付款</h1>
<p lang="zh-TW">目前無法建立付款，請稍後再試。</p>`,
);

/**
 * The public side of payment links: `GET /l/{id}` makes (or finds) the intent and sends the
 * payer to its hosted checkout with 303. Rate limited per address in create-app.ts, like /pay/*.
 */
export function registerPaymentLinkPage(
  app: OpenAPIHono<AppEnv>,
  { paymentLinks }: { paymentLinks: PaymentLinks },
): void {
  app.get("/l/:id", async (c) => {
    c.header("Cache-Control", "no-store");
    c.header("Referrer-Policy", "no-referrer");
    // A HEAD (link checkers, some previews) must not spend a one-time link.
    if (c.req.method === "HEAD") return c.body(null, 200);
    try {
      const opening = await paymentLinks.open(c.req.param("id"));
      if (opening.kind === "used") return c.html(usedPage, 410);
      return c.redirect(`/pay/${opening.intentId}`, 303);
    } catch (err) {
      if (err instanceof DomainError && err.status === 404) return c.html(notFoundPage, 404);
      if (err instanceof DomainError && err.status < 500) {
        c.get("log").warn({ err, link: c.req.param("id") }, "payment link could not open");
      } else {
        c.get("log").error({ err, link: c.req.param("id") }, "payment link could not open");
      }
      return c.html(unavailablePage, 503);
    }
  });
}
