import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestGateway, type TestGateway, type TestTenant } from "../testing/test-gateway.ts";

let gw: TestGateway;
let t: TestTenant;

beforeAll(async () => {
  gw = await startTestGateway();
  t = await gw.createTenant();
});

afterAll(async () => {
  await gw.stop();
});

it("answers a database failure with 500 code 5000 and no internals, and readyz with 503", async () => {
  // A real failure, not a stubbed one: the database goes away under the running server.
  await gw.database.close();
  const res = await fetch(`${gw.url}/v1/studio/api/payment/intents`, {
    headers: { "X-STUDIO-API-KEY": t.apiKey },
  });
  expect(res.status).toBe(500);
  const text = await res.text();
  expect(JSON.parse(text)).toEqual({ code: 5000, message: "internal error" });
  expect(text).not.toMatch(/at |kysely|pglite|pg|stack/i);
  expect((await fetch(`${gw.url}/readyz`)).status).toBe(503);
});
