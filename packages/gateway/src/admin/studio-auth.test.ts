import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInAs } from "../testing/studio-client.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(() => gateway?.close());

describe("the admin API's session guard", () => {
  it("refuses a request without a session, and a forged or ended one, with 401 and a code", async () => {
    const none = await fetch(`${gateway.url}/v1/admin/session`);
    expect([none.status, (await none.json()).code]).toEqual([401, 4031]);
    const forged = await fetch(`${gateway.url}/v1/admin/session`, {
      headers: { cookie: "stablegate_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
    });
    expect([forged.status, (await forged.json()).code]).toEqual([401, 4031]);
  });

  it("answers the signed-in member with their organisations, roles and CSRF token", async () => {
    const tenant = await gateway.createTenant({ name: "Guarded shop" });
    const viewer = await signInAs(gateway, { orgId: tenant.orgId, role: "viewer" });
    const me = await viewer.request("GET", "/v1/admin/session");
    expect(me.status).toBe(200);
    expect(me.body.data.csrf_token).toBe(viewer.csrfToken);
    expect(me.body.data.memberships).toEqual([
      expect.objectContaining({ org_id: tenant.orgId, org_name: "Guarded shop", role: "viewer" }),
    ]);
    expect(me.body.data.memberships[0].permissions).toEqual(["read"]);
  });
});
