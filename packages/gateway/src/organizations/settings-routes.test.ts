import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInAs } from "../testing/studio-client.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";
import { LOGO_DATA_URL_MAX_CHARS } from "./org-settings.ts";

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(() => gateway?.close());

const PNG = `data:image/png;base64,${"iVBORw0KGgo".padEnd(400, "A")}`;

describe("organisation settings", () => {
  it("returns and changes the name, default token and branding, audited", async () => {
    const tenant = await gateway.createTenant({ name: "Tea House" });
    const admin = await signInAs(gateway, { orgId: tenant.orgId, role: "admin" });
    const path = `/v1/admin/orgs/${tenant.orgId}/settings`;

    const before = await admin.request("GET", path);
    expect(before.body.data).toEqual({
      name: "Tea House",
      default_chain_id: "arb",
      default_token_symbol: "USDT",
      accepted_assets: [{ chain_id: "arb", symbol: "USDT" }],
      branding: { display_name: null, logo_url: null, accent_color: null },
    });
    const changed = await admin.request("PATCH", path, {
      body: {
        name: "Tea House Ltd",
        default_token_symbol: "USDC",
        branding: { display_name: "Tea House", logo_url: PNG, accent_color: "#0F766E" },
      },
    });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body.data).toEqual({
      name: "Tea House Ltd",
      default_chain_id: "arb",
      default_token_symbol: "USDC",
      accepted_assets: [{ chain_id: "arb", symbol: "USDC" }],
      branding: { display_name: "Tea House", logo_url: PNG, accent_color: "#0f766e" },
    });
    // The next intent is in the new default token.
    const intent = await fetch(`${gateway.url}/v1/studio/api/payment/intent`, {
      method: "POST",
      headers: { "content-type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey },
      body: JSON.stringify({ fiat_amount: "10", fiat_currency: "USD" }),
    }).then((r) => r.json());
    expect(intent.data.symbol).toBe("USDC");

    const reset = await admin.request("PATCH", path, {
      body: { branding: { logo_url: null, accent_color: "#ffffff" } },
    });
    expect(reset.body.data.branding).toEqual({
      display_name: "Tea House",
      logo_url: null,
      accent_color: "#ffffff",
    });

    const audit = await gateway.database.db
      .selectFrom("audit_log")
      .select(["action", "before", "after"])
      .where("org_id", "=", tenant.orgId)
      .orderBy("id")
      .execute();
    expect(audit).toHaveLength(2);
    expect(audit[0]).toMatchObject({
      action: "organization.settings_changed",
      before: { name: "Tea House", default_token_symbol: "USDT", accent_color: null },
      after: {
        name: "Tea House Ltd",
        default_token_symbol: "USDC",
        logo_url: `data: (${PNG.length} characters)`,
      },
    });
    expect(audit[1]?.after).toEqual({ logo_url: null, accent_color: "#ffffff" });
  });

  it("refuses bad values naming the field, and roles without settings:write", async () => {
    const tenant = await gateway.createTenant();
    const owner = await signInAs(gateway, { orgId: tenant.orgId, role: "owner" });
    const dev = await signInAs(gateway, { orgId: tenant.orgId, role: "developer" });
    const path = `/v1/admin/orgs/${tenant.orgId}/settings`;

    const refused = await dev.request("PATCH", path, { body: { name: "Mine" } });
    expect([refused.status, refused.body.code]).toEqual([403, 4032]);
    expect((await dev.request("GET", path)).status).toBe(200);

    const tooBig = `data:image/png;base64,${"A".repeat(LOGO_DATA_URL_MAX_CHARS)}`;
    for (const [body, field] of [
      [{ name: " " }, "name"],
      [{ default_chain_id: "nowhere" }, "default_chain_id"],
      [{ default_token_symbol: "DAI" }, "default_token_symbol"],
      [{ branding: { accent_color: "teal" } }, "branding.accent_color"],
      [{ branding: { accent_color: "#12345" } }, "branding.accent_color"],
      [{ branding: { logo_url: "http://shop.example/logo.png" } }, "branding.logo_url"],
      [{ branding: { logo_url: "javascript:alert(1)" } }, "branding.logo_url"],
      [{ branding: { logo_url: "data:image/svg+xml;base64,PHN2Zz4=" } }, "branding.logo_url"],
      [{ branding: { logo_url: tooBig } }, "branding.logo_url"],
      [{ branding: { colour: "#ffffff" } }, "branding"],
      // No RPC URL for arb in this gateway: a payment there would never be seen.
      [{ accepted_assets: [{ chain_id: "arb", symbol: "USDC" }] }, "accepted_assets[0].chain_id"],
      [{ accepted_assets: [{ chain_id: "matic", symbol: "DAI" }] }, "accepted_assets[0].symbol"],
    ] as const) {
      const r = await owner.request("PATCH", path, { body });
      expect([r.status, r.body.code], r.text).toEqual([400, 4000]);
      expect(r.body.data.field).toBe(field);
    }
    // Uploads only: the checkout shows no image from another host, and the gateway fetches none.
    const https = await owner.request("PATCH", path, {
      body: { branding: { logo_url: "https://cdn.shop.example/logo.png" } },
    });
    expect([https.status, https.body.code, https.body.data.field]).toEqual([
      400,
      4000,
      "branding.logo_url",
    ]);
    expect(https.body.message).toMatch(/upload the image/);
    // The bytes must be the image the URL declares: a GIF sent as a PNG is refused.
    const gifAsPng = `data:image/png;base64,${Buffer.from("GIF89a\x01\x00\x01\x00").toString("base64")}`;
    const notImage = `data:image/png;base64,${Buffer.from("<svg onload=alert(1)>").toString("base64")}`;
    for (const logo of [gifAsPng, notImage]) {
      const r = await owner.request("PATCH", path, { body: { branding: { logo_url: logo } } });
      expect([r.status, r.body.code, r.body.data.field], r.text).toEqual([
        400,
        4000,
        "branding.logo_url",
      ]);
    }
  });

  it("stores an uploaded logo once and serves it from the gateway by its hash", async () => {
    const [a, b] = [await gateway.createTenant(), await gateway.createTenant()];
    for (const t of [a, b]) {
      const owner = await signInAs(gateway, { orgId: t.orgId, role: "owner" });
      const r = await owner.request("PATCH", `/v1/admin/orgs/${t.orgId}/settings`, {
        body: { branding: { logo_url: PNG } },
      });
      expect(r.status, r.text).toBe(200);
    }
    const orgs = await gateway.database.db
      .selectFrom("organizations")
      .select("logo_sha256")
      .where("id", "in", [a.orgId, b.orgId])
      .execute();
    const sha = createHash("sha256")
      .update(Buffer.from(PNG.slice(PNG.indexOf(",") + 1), "base64"))
      .digest("hex");
    expect(orgs.map((o) => o.logo_sha256)).toEqual([sha, sha]);
    const stored = await gateway.database.db
      .selectFrom("checkout_logos")
      .select("content_type")
      .where("sha256", "=", sha)
      .execute();
    expect(stored).toEqual([{ content_type: "image/png" }]);
    const served = await fetch(`${gateway.url}/v1/checkout/logos/${sha}`);
    expect([served.status, served.headers.get("content-type")]).toEqual([200, "image/png"]);

    // Removing the logo takes it off the checkout.
    const owner = await signInAs(gateway, { orgId: a.orgId, role: "owner" });
    await owner.request("PATCH", `/v1/admin/orgs/${a.orgId}/settings`, {
      body: { branding: { logo_url: null } },
    });
    const after = await gateway.database.db
      .selectFrom("organizations")
      .select("logo_sha256")
      .where("id", "=", a.orgId)
      .executeTakeFirstOrThrow();
    expect(after.logo_sha256).toBeNull();
  });
});
