import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import type { Hono } from "hono";
import type { AppEnv } from "./openapi.ts";

// GET /docs: Swagger UI for /openapi.json, every file served by the gateway itself (no CDN), so
// the page works on a machine without internet access. The viewer comes from swagger-ui-dist,
// one package with prebuilt files (docs/decisions.md: why not Scalar's browser build).

const dist = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/** The files /docs loads, by the name it loads them under. */
const assets: Record<string, { file: string; type: string }> = {
  "swagger-ui.css": { file: "swagger-ui.css", type: "text/css; charset=utf-8" },
  "swagger-ui-bundle.js": { file: "swagger-ui-bundle.js", type: "text/javascript; charset=utf-8" },
};

// In a file of its own, not inline: the page can then be served under a CSP without
// 'unsafe-inline'.
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#api-reference",
  deepLinking: true,
  defaultModelsExpandDepth: 0,
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stablegate API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="api-reference"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

/** GET /docs (the API reference page for /openapi.json) and the files it loads. */
export function registerApiReference(app: Hono<AppEnv>): void {
  const cache = new Map<string, Promise<Buffer>>();
  const read = (file: string) => {
    let content = cache.get(file);
    if (!content) {
      content = readFile(path.join(dist, file));
      // A failed read is not kept: the next request tries again.
      content.catch(() => cache.delete(file));
      cache.set(file, content);
    }
    return content;
  };
  const cacheControl = { "Cache-Control": "public, max-age=3600" };

  app.get("/docs", (c) => c.html(PAGE));
  app.get("/docs/init.js", (c) =>
    c.body(INIT_SCRIPT, 200, { "Content-Type": "text/javascript; charset=utf-8", ...cacheControl }),
  );
  for (const [name, asset] of Object.entries(assets)) {
    app.get(`/docs/${name}`, async (c) =>
      c.body(new Uint8Array(await read(asset.file)), 200, {
        "Content-Type": asset.type,
        ...cacheControl,
      }),
    );
  }
}
