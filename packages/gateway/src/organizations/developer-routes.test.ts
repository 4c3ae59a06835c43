import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhook } from "../../../sdk/src/verify-webhook.ts";
import { signatureHeader } from "../callbacks/signature.ts";
import { signInAs } from "../testing/studio-client.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(() => gateway?.close());

const createIntent = (headers: Record<string, string>) =>
  fetch(`${gateway.url}/v1/studio/api/payment/intent`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ fiat_amount: "300", fiat_currency: "TWD" }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));

/** Every audit row of an organisation, as stored. */
const auditOf = (orgId: number) =>
  gateway.database.db
    .selectFrom("audit_log")
    .selectAll()
    .where("org_id", "=", orgId)
    .orderBy("id")
    .execute();

describe("API keys in Studio", () => {
  it("creates a key that works at once, shows its secret once, and refuses it once revoked", async () => {
    const tenant = await gateway.createTenant();
    const dev = await signInAs(gateway, { orgId: tenant.orgId, role: "developer" });
    const keys = `/v1/admin/orgs/${tenant.orgId}/keys`;

    const created = await dev.request("POST", keys, { body: { name: "billing server" } });
    expect(created.status, created.text).toBe(200);
    const { secret, id } = created.body.data;
    expect(secret).toMatch(/^sg_live_/);
    expect(created.body.data).toMatchObject({
      name: "billing server",
      prefix: secret.slice(0, 12),
      revoked_at: null,
      last_used_at: null,
      max_transfer_amount: null,
    });

    const used = await createIntent({ "X-STUDIO-API-KEY": secret });
    expect(used.status, JSON.stringify(used.body)).toBe(200);
    expect(used.body.data.org_id).toBe(tenant.orgId);

    // The use is noted (once a minute at most), and nothing after creation shows the secret.
    const listed = await dev.request("GET", keys);
    expect(listed.status).toBe(200);
    const mine = listed.body.data.find((k: { id: number }) => k.id === id);
    expect(mine.last_used_at).not.toBeNull();
    expect(listed.text).not.toContain(secret);

    const revoked = await dev.request("DELETE", `${keys}/${id}`);
    expect(revoked.status, revoked.text).toBe(200);
    expect(revoked.body.data.revoked_at).not.toBeNull();
    const refused = await createIntent({ "X-STUDIO-API-KEY": secret });
    expect([refused.status, refused.body.code]).toEqual([401, 4002]);
    expect((await dev.request("DELETE", `${keys}/${id}`)).status).toBe(404);

    const audit = await auditOf(tenant.orgId);
    expect(audit.map((a) => a.action)).toEqual(["api_key.created", "api_key.revoked"]);
    expect(audit[0]).toMatchObject({ actor: dev.user.email, target: `api_key:${id}` });
    const stored = JSON.stringify(audit);
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(secret.slice(12));
  });

  it("lets a developer rename keys but not set their limits (403 4032); an admin may", async () => {
    const tenant = await gateway.createTenant();
    const dev = await signInAs(gateway, { orgId: tenant.orgId, role: "developer" });
    const admin = await signInAs(gateway, { orgId: tenant.orgId, role: "admin" });
    const keys = `/v1/admin/orgs/${tenant.orgId}/keys`;

    const withLimits = await dev.request("POST", keys, {
      body: { name: "ops", max_transfer_amount: "100" },
    });
    expect([withLimits.status, withLimits.body.code]).toEqual([403, 4032]);
    const { id } = (await dev.request("POST", keys, { body: { name: "ops" } })).body.data;
    const raise = await dev.request("PATCH", `${keys}/${id}`, {
      body: { limits: { max_transfer_amount: "1000000" } },
    });
    expect([raise.status, raise.body.code]).toEqual([403, 4032]);
    const renamed = await dev.request("PATCH", `${keys}/${id}`, { body: { name: "ops 2" } });
    expect([renamed.status, renamed.body.data.name]).toEqual([200, "ops 2"]);

    const limited = await admin.request("PATCH", `${keys}/${id}`, {
      body: { limits: { max_transfer_amount: "50.5", daily_transfer_cap: "200" } },
    });
    expect(limited.status, limited.text).toBe(200);
    expect(limited.body.data).toMatchObject({
      max_transfer_amount: "50.5",
      daily_transfer_cap: "200",
    });
    const bad = await admin.request("PATCH", `${keys}/${id}`, {
      body: { limits: { daily_transfer_cap: "-3" } },
    });
    expect([bad.status, bad.body.code, bad.body.data.field]).toEqual([
      400,
      4000,
      "daily_transfer_cap",
    ]);
    const removed = await admin.request("PATCH", `${keys}/${id}`, {
      body: { limits: { max_transfer_amount: null } },
    });
    expect(removed.body.data).toMatchObject({
      max_transfer_amount: null,
      daily_transfer_cap: "200",
    });
    const audit = (await auditOf(tenant.orgId)).filter((a) => a.action === "api_key.updated");
    expect(audit.map((a) => a.after)).toContainEqual(
      expect.objectContaining({ max_transfer_amount: "50.5", daily_transfer_cap: "200" }),
    );
  });

  it("refuses a viewer's change (403 4032), another organisation's key (404) and bad input (400)", async () => {
    const tenant = await gateway.createTenant();
    const other = await gateway.createTenant();
    const viewer = await signInAs(gateway, { orgId: tenant.orgId, role: "viewer" });
    const owner = await signInAs(gateway, { orgId: tenant.orgId, role: "owner" });
    const keys = `/v1/admin/orgs/${tenant.orgId}/keys`;

    expect((await viewer.request("GET", keys)).status).toBe(200);
    const forged = await viewer.request("POST", keys, { body: { name: "sneaky" } });
    expect([forged.status, forged.body.code]).toEqual([403, 4032]);
    const foreign = await viewer.request("GET", `/v1/admin/orgs/${other.orgId}/keys`);
    expect([foreign.status, foreign.body.code]).toEqual([404, 4004]);

    const otherKeys = await gateway.services.tenancy.listApiKeys(other.orgId);
    const theirs = otherKeys[0]?.id;
    const crossRevoke = await owner.request("DELETE", `${keys}/${theirs}`);
    expect([crossRevoke.status, crossRevoke.body.code]).toEqual([404, 4004]);
    const stillWorks = await createIntent({ "X-STUDIO-API-KEY": other.apiKey });
    expect(stillWorks.status).toBe(200);

    for (const [body, field] of [
      [{}, "name"],
      [{ name: "" }, "name"],
      [{ name: "x", secret: "mine" }, ""],
    ] as const) {
      const r = await owner.request("POST", keys, { body });
      expect(r.status, r.text).toBe(400);
      expect(r.body.code).toBe(4000);
      if (field) expect(r.body.data.field).toBe(field);
    }
    const badId = await owner.request("DELETE", `${keys}/abc`);
    expect([badId.status, badId.body.data.field]).toEqual([400, "keyId"]);
  });
});

describe("clients in Studio", () => {
  it("creates and changes a client with the CLI's rules, naming a bad origin's field", async () => {
    const tenant = await gateway.createTenant();
    const dev = await signInAs(gateway, { orgId: tenant.orgId, role: "developer" });
    const clients = `/v1/admin/orgs/${tenant.orgId}/clients`;

    const created = await dev.request("POST", clients, {
      body: {
        name: "storefront",
        allowed_origins: ["https://Shop.Example:443"],
        allowed_callback_hosts: ["Shop.Example"],
      },
    });
    expect(created.status, created.text).toBe(200);
    expect(created.body.data).toMatchObject({
      name: "storefront",
      allowed_origins: ["https://shop.example"],
      allowed_callback_hosts: ["shop.example"],
    });
    const { client_id } = created.body.data;

    const badOrigin = await dev.request("POST", clients, {
      body: { name: "x", allowed_origins: ["https://shop.example/path"] },
    });
    expect([badOrigin.status, badOrigin.body.code, badOrigin.body.data.field]).toEqual([
      400,
      4000,
      "origin",
    ]);
    const badHost = await dev.request("PATCH", `${clients}/${client_id}`, {
      body: { allowed_callback_hosts: ["https://shop.example"] },
    });
    expect([badHost.status, badHost.body.data.field]).toEqual([400, "callback_host"]);
    const notAList = await dev.request("PATCH", `${clients}/${client_id}`, {
      body: { allowed_origins: "https://a.example" },
    });
    expect([notAList.status, notAList.body.data.field]).toEqual([400, "allowed_origins"]);

    const changed = await dev.request("PATCH", `${clients}/${client_id}`, {
      body: { allowed_origins: ["https://two.example"] },
    });
    expect(changed.body.data.allowed_origins).toEqual(["https://two.example"]);
    // The new origin works for a browser create at once; the old one no longer does.
    const browser = (origin: string) => createIntent({ "X-Client-ID": client_id, Origin: origin });
    expect((await browser("https://two.example")).status).toBe(200);
    expect((await browser("https://shop.example")).body.code).toBe(4003);

    const listed = await dev.request("GET", clients);
    expect(listed.body.data.map((c: { client_id: string }) => c.client_id)).toContain(client_id);

    const other = await gateway.createTenant();
    const foreign = await dev.request("PATCH", `${clients}/${other.clientId}`, {
      body: { name: "mine now" },
    });
    expect([foreign.status, foreign.body.code]).toEqual([404, 4004]);
    expect((await gateway.services.tenancy.clientById(other.clientId))?.name).toBe("web");

    const audit = await auditOf(tenant.orgId);
    expect(audit.map((a) => a.action)).toEqual(["client.created", "client.updated"]);
    expect(audit[1]).toMatchObject({
      before: expect.objectContaining({ allowed_origins: ["https://shop.example"] }),
      after: expect.objectContaining({ allowed_origins: ["https://two.example"] }),
    });
  });
});

describe("the webhook secret in Studio", () => {
  it("rotates for an owner only; both secrets verify during the overlap; never shown again", async () => {
    const tenant = await gateway.createTenant();
    const owner = await signInAs(gateway, { orgId: tenant.orgId, role: "owner" });
    const admin = await signInAs(gateway, { orgId: tenant.orgId, role: "admin" });
    const base = `/v1/admin/orgs/${tenant.orgId}/webhook-secret`;

    const before = await admin.request("GET", base);
    expect(before.status).toBe(200);
    expect(before.body.data.previous_expires_at).toBeNull();
    const refused = await admin.request("POST", `${base}/rotate`);
    expect([refused.status, refused.body.code]).toEqual([403, 4032]);

    const rotated = await owner.request("POST", `${base}/rotate`);
    expect(rotated.status, rotated.text).toBe(200);
    const { secret, previous_valid_until } = rotated.body.data;
    expect(secret).toMatch(/^whsec_/);
    const overlapHours = (Date.parse(previous_valid_until) - Date.now()) / 3_600_000;
    expect(overlapHours).toBeGreaterThan(23.9);
    expect(overlapHours).toBeLessThanOrEqual(24);

    // What the dispatcher signs with now: a receiver holding either secret verifies it.
    const body = JSON.stringify({ payment_intent_id: "x", status: "success" });
    const t = Math.floor(Date.now() / 1000);
    const header = signatureHeader(
      body,
      await gateway.services.webhookSecrets.active(tenant.orgId),
      t,
    );
    expect(() => verifyWebhook(body, header, tenant.webhookSecret)).not.toThrow();
    expect(() => verifyWebhook(body, header, secret)).not.toThrow();

    const after = await owner.request("GET", base);
    expect(after.body.data.previous_expires_at).toBe(previous_valid_until);
    expect(after.text).not.toContain(secret);
    const audit = await auditOf(tenant.orgId);
    expect(audit.map((a) => a.action)).toEqual(["webhook_secret.rotated"]);
    expect(JSON.stringify(audit)).not.toContain(secret);
  });
});

describe("one definition of each change", () => {
  it("audits the CLI's key and client changes as cli, through the same service", async () => {
    const tenant = await gateway.createTenant();
    const { tenancy } = gateway.services;
    const cli = { actor: { kind: "cli" } } as const;
    const key = await tenancy.createApiKey({ orgId: tenant.orgId, name: "from the shell" }, cli);
    await tenancy.updateApiKey(key.id, { limits: { maxTransfer: "5" } }, cli);
    await tenancy.setAllowedOrigins(tenant.clientId, ["https://cli.example"], cli);
    const audit = await auditOf(tenant.orgId);
    expect(audit.map((a) => [a.actor, a.action, a.actor_user_id])).toEqual([
      ["cli", "api_key.created", null],
      ["cli", "api_key.updated", null],
      ["cli", "client.updated", null],
    ]);
    expect(JSON.stringify(audit)).not.toContain(key.secret);
  });

  it("documents every Developers route in /openapi.json under its tag", async () => {
    const doc = await fetch(`${gateway.url}/openapi.json`).then((r) => r.json());
    const tagged = Object.entries(doc.paths as Record<string, Record<string, { tags: string[] }>>)
      .flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => [`${m} ${path}`, op.tags]))
      .filter(([, tags]) => (tags as string[]).includes("Admin: Developers"))
      .map(([route]) => route);
    expect(tagged).toEqual(
      expect.arrayContaining([
        "get /v1/admin/orgs/{orgId}/keys",
        "post /v1/admin/orgs/{orgId}/keys",
        "patch /v1/admin/orgs/{orgId}/keys/{keyId}",
        "delete /v1/admin/orgs/{orgId}/keys/{keyId}",
        "patch /v1/admin/orgs/{orgId}/clients/{clientId}",
        "post /v1/admin/orgs/{orgId}/webhook-secret/rotate",
      ]),
    );
  });
});
