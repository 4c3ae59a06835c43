import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INTENT,
  type IntentFixture,
  LIST,
  server,
  startIntentFixture,
} from "../payments/intent-fixture.ts";

// What the app serves besides the API: health, readiness, the OpenAPI document, the reference
// page, and a 404 for everything else.

let f: IntentFixture;
beforeAll(async () => {
  f = await startIntentFixture();
});
afterAll(() => f?.stop());

describe("service endpoints", () => {
  it("serves health, readiness, the OpenAPI document and the reference page", async () => {
    expect((await f.call("GET", "/healthz")).body).toEqual({ status: "ok" });
    expect((await f.call("GET", "/readyz")).status).toBe(200);
    const doc = await f.call("GET", "/openapi.json");
    expect(doc.body.openapi).toBe("3.1.0");
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([INTENT, `${INTENT}/{id}`, LIST]),
    );
    const status = doc.body.paths[LIST].get.parameters.find((p: any) => p.name === "status");
    expect(status.schema.items.enum).toEqual([
      "pending",
      "success",
      "expired",
      "insufficient_not_refunded",
      "insufficient_refunded",
    ]);
    const page = await f.call("GET", "/docs");
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<html/i);
  });

  it("serves the reference page's viewer itself: nothing on the page comes from elsewhere", async () => {
    const page = await f.call("GET", "/docs");
    const sources = [
      ...page.text.matchAll(/<(?:script|link|img)\b[^>]*\b(?:src|href)="([^"]*)"/gi),
    ].map((m) => m[1]);
    expect(sources).toEqual([
      "/docs/swagger-ui.css",
      "/docs/swagger-ui-bundle.js",
      "/docs/init.js",
    ]);
    expect(page.text).not.toMatch(/https?:\/\/(?!localhost)[^"'\s]*\.(js|css|woff2?)\b/i);
    const bundle = await fetch(`${f.gateway.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("content-type")).toMatch(/^text\/javascript/);
    const body = await bundle.text();
    expect(body.length).toBeGreaterThan(100_000);
    expect(body).toContain("SwaggerUIBundle");
    const style = await fetch(`${f.gateway.url}/docs/swagger-ui.css`);
    expect([style.status, style.headers.get("content-type")]).toEqual([
      200,
      "text/css; charset=utf-8",
    ]);
    const init = await (await fetch(`${f.gateway.url}/docs/init.js`)).text();
    expect(init).toContain('url: "/openapi.json"');
  });

  it("answers unknown routes with 404 and code 4004", async () => {
    const r = await f.call("GET", "/v1/studio/api/nothing", { headers: server(f.shop) });
    expect([r.status, r.body.code]).toEqual([404, 4004]);
  });
});
