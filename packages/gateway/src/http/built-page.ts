import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { serveStatic } from "@hono/node-server/serve-static";
import type { Hono, MiddlewareHandler } from "hono";
import type { AppEnv } from "./openapi.ts";

// The pages the gateway serves from a Vite build (the checkout in packages/web/dist, Studio in
// packages/studio/dist): the index.html the gateway answers itself, and the hashed files under
// `<prefix>assets/`.

/**
 * Serves `<distDir>/assets/*` at `<prefix>assets/*`. Hashed file names: a file's content never
 * changes, so browsers may keep it for good. A missing file is a 404 (never the page's
 * index.html: a script tag would get HTML); an unbuilt page answers `notBuilt` with 503.
 */
export function serveBuiltAssets<E extends AppEnv>(
  app: Hono<E>,
  o: { prefix: string; distDir: string; notBuilt: string },
): void {
  let assets: MiddlewareHandler<E> | undefined;
  // `next` is never called: nothing else answers under the assets prefix.
  app.use(`${o.prefix}assets/*`, async (c) => {
    if (!existsSync(join(o.distDir, "index.html"))) return c.html(o.notBuilt, 503);
    assets ??= serveStatic<E>({
      root: o.distDir,
      rewriteRequestPath: (path) => path.slice(o.prefix.length - 1),
      onFound: (_path, ctx) => {
        ctx.header("Cache-Control", "public, max-age=31536000, immutable");
      },
    });
    const answer = await assets(c, async () => {});
    return answer ?? c.text("Not Found", 404);
  });
}

/** The built index.html, or null when the page has not been built (the caller answers 503). */
export async function readBuiltIndex(distDir: string): Promise<string | null> {
  try {
    return await readFile(join(distDir, "index.html"), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    return null;
  }
}

/** A minimal page for the gateway's own answers (not found, not built). */
export const plainPage = (title: string, body: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans TC",sans-serif;margin:0;padding:2rem 1rem;background:#f4f5f7;color:#1c1f24}
main{max-width:28rem;margin:0 auto;background:#fff;border-radius:12px;padding:1.5rem;box-shadow:0 1px 3px rgba(0,0,0,.1)}
h1{font-size:1.25rem;margin:0 0 .75rem}
p{line-height:1.5;margin:.5rem 0}
</style>
</head>
<body><main>${body}</main></body>
</html>
`;
