import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { Scalar } from "@scalar/hono-api-reference";
import type { Hono } from "hono";
import type { AppEnv } from "./openapi.ts";

/** Where /docs loads its viewer from: this server, not a CDN (the page must work offline). */
export const API_REFERENCE_SCRIPT = "/docs/scalar.js";

// The viewer's self-contained browser build, from the installed @scalar/api-reference (its
// package exports do not list it, so the path is found from the package's entry point).
const standalone = path.join(
  path.dirname(createRequire(import.meta.url).resolve("@scalar/api-reference")),
  "browser",
  "standalone.js",
);

/** GET /docs (the API reference page for /openapi.json) and the viewer script it loads. */
export function registerApiReference(app: Hono<AppEnv>): void {
  let script: Promise<Buffer> | undefined;
  app.get(API_REFERENCE_SCRIPT, async (c) => {
    script ??= readFile(standalone).catch((err: unknown) => {
      script = undefined;
      throw err;
    });
    return c.body(new Uint8Array(await script), 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": "public, max-age=3600",
    });
  });
  app.get(
    "/docs",
    Scalar({
      url: "/openapi.json",
      pageTitle: "Stablegate API reference",
      cdn: API_REFERENCE_SCRIPT,
      // The default fonts come from fonts.scalar.com; the system's fonts work offline.
      withDefaultFonts: false,
    }),
  );
}
