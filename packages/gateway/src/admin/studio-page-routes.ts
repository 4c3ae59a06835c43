import { fileURLToPath } from "node:url";
import type { Context, Hono } from "hono";
import { plainPage, readBuiltIndex, serveBuiltAssets } from "../http/built-page.ts";
import type { AppEnv } from "../http/openapi.ts";

/** Where `npm run build -w @stablegate/studio` puts Studio; the gateway runs from its sources. */
export const DEFAULT_STUDIO_DIST_DIR = fileURLToPath(
  new URL("../../../studio/dist", import.meta.url),
);

/** Studio's base (vite `base` in packages/studio/vite.config.ts). */
export const STUDIO_PREFIX = "/studio/";

// Studio talks to its own origin only. Inline styles: react-aria positions popovers with style
// attributes. data: images: the TOTP QR code. No framing: a dashboard in someone's iframe is the
// start of clickjacking.
const STUDIO_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const notBuiltPage = plainPage(
  "Studio unavailable",
  `<h1>Studio unavailable</h1>
<p>Studio has not been built on this server. The operator can build it with
<code>npm run build -w @stablegate/studio</code>.</p>`,
);

/**
 * Studio, the dashboard: its built files under /studio/assets/ and its index.html for every
 * other /studio path (the app's router reads the URL: /studio/orgs/1/payments is a page too).
 */
export function registerStudioPage<E extends AppEnv>(
  app: Hono<E>,
  options: { distDir?: string } = {},
): void {
  const distDir = options.distDir ?? DEFAULT_STUDIO_DIST_DIR;
  serveBuiltAssets(app, { prefix: STUDIO_PREFIX, distDir, notBuilt: notBuiltPage });
  const page = async (c: Context<E>) => {
    const html = await readBuiltIndex(distDir);
    // The page is small and changes with every release: revalidate, never keep it.
    c.header("Cache-Control", "no-cache");
    // Invitation links carry their token in the path: keep it out of Referer headers.
    c.header("Referrer-Policy", "no-referrer");
    if (html === null) {
      c.get("log").error(
        { distDir },
        "Studio is not built: run npm run build -w @stablegate/studio",
      );
      return c.html(notBuiltPage, 503);
    }
    return c.html(html, 200, {
      "Content-Security-Policy": STUDIO_CSP,
      "X-Content-Type-Options": "nosniff",
    });
  };
  app.get("/studio", page);
  app.get("/studio/*", page);
}
