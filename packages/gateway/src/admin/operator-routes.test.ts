import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../testing/cli-process.ts";
import { chainOn } from "../testing/lifecycle-shop.ts";
import { type ManualChain, startManualChain } from "../testing/manual-chain.ts";
import { signInAs } from "../testing/studio-client.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

// The operator's routes on a gateway following one anvil chain through two RPC URLs, the first
// of them dead and carrying credentials that must never be shown.
const SECRET = "s3cretRpcKey";
let chain: ManualChain;
let gateway: TestGateway;

beforeAll(async () => {
  chain = await startManualChain();
  const dead = await freePort();
  gateway = await startTestGateway({
    env: { GAS_WALLET_LOW_BALANCE: "1" },
    extraChains: [
      chainOn(chain, "local", {
        rpcUrls: [`http://user:${SECRET}@127.0.0.1:${dead}/v3/${SECRET}`, chain.chain.rpcUrl],
      }),
    ],
  });
});
afterAll(async () => {
  await gateway?.close();
  await chain?.stop();
});

async function createIntent(apiKey: string) {
  const res = await fetch(`${gateway.url}/v1/studio/api/payment/intent`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-studio-api-key": apiKey },
    body: JSON.stringify({ fiat_amount: "10", fiat_currency: "USD" }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe("the operator's routes", () => {
  it("are refused to a member who is not an operator, whatever their role", async () => {
    const tenant = await gateway.createTenant({ chain: "local" });
    const owner = await signInAs(gateway, { orgId: tenant.orgId, role: "owner" });
    for (const [method, path] of [
      ["GET", "/v1/admin/operator/organizations"],
      ["POST", "/v1/admin/operator/organizations"],
      ["PATCH", `/v1/admin/operator/organizations/${tenant.orgId}`],
      ["GET", "/v1/admin/operator/health"],
      ["GET", "/v1/admin/operator/reconciliation"],
      ["GET", "/v1/admin/operator/audit"],
    ] as const) {
      const res = await owner.request(method, path, method === "GET" ? {} : { body: {} });
      expect([path, res.status, res.body.code]).toEqual([path, 403, 4032]);
    }
  });

  it("creates an organisation with its owner's invitation, lists it, and audits it", async () => {
    const operator = await signInAs(gateway, { operator: true });
    const email = `founder-${Date.now()}@example.com`;
    const made = await operator.request("POST", "/v1/admin/operator/organizations", {
      body: {
        name: "Founded shop",
        default_chain_id: "local",
        default_token_symbol: "USDT",
        fee_bps: 150,
        owner_email: email,
      },
    });
    expect(made.status).toBe(200);
    const org = made.body.data.organization;
    expect(org).toEqual(
      expect.objectContaining({
        name: "Founded shop",
        fee_bps: 150,
        members: 0,
        suspended_at: null,
      }),
    );
    const token = made.body.data.invitation.url.split("/studio/invite/")[1];
    const accepted = await fetch(`${gateway.url}/v1/admin/invitations/${token}/accept`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Founder", password: "founder's long password" }),
    });
    expect(accepted.status).toBe(200);
    expect(((await accepted.json()) as any).data.memberships).toEqual([
      expect.objectContaining({ org_id: org.id, role: "owner" }),
    ]);

    const list = await operator.request("GET", "/v1/admin/operator/organizations?page_size=100");
    expect(list.body.data.items).toContainEqual(
      expect.objectContaining({ id: org.id, name: "Founded shop", members: 1 }),
    );
    const badFee = await operator.request("POST", "/v1/admin/operator/organizations", {
      body: {
        name: "x",
        default_chain_id: "local",
        default_token_symbol: "USDT",
        fee_bps: 1e6,
        owner_email: email,
      },
    });
    expect([badFee.status, badFee.body.code, badFee.body.data.field]).toEqual([
      400,
      4000,
      "fee_bps",
    ]);

    const audit = await operator.request("GET", `/v1/admin/operator/audit?org_id=${org.id}`);
    expect(audit.body.data.items.map((e: { action: string }) => e.action)).toEqual([
      "invitation.accepted",
      "invitation.created",
      "organization.created",
    ]);
  });

  it("suspends an organisation: its API key and client are refused with 403 4065 until resumed", async () => {
    const tenant = await gateway.createTenant({ chain: "local" });
    const operator = await signInAs(gateway, { operator: true });
    expect((await createIntent(tenant.apiKey)).status).toBe(200);
    const path = `/v1/admin/operator/organizations/${tenant.orgId}`;
    const suspended = await operator.request("PATCH", path, { body: { suspended: true } });
    expect(suspended.status).toBe(200);
    expect(suspended.body.data.suspended_at).toEqual(expect.any(String));

    const refused = await createIntent(tenant.apiKey);
    expect([refused.status, refused.body]).toEqual([
      403,
      { code: 4065, message: "organisation suspended" },
    ]);
    const browser = await fetch(`${gateway.url}/v1/studio/api/payment/intent`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-client-id": tenant.clientId,
        origin: tenant.origin,
      },
      body: JSON.stringify({ fiat_amount: "10", fiat_currency: "USD" }),
    });
    expect([browser.status, ((await browser.json()) as any).code]).toEqual([403, 4065]);

    const resumed = await operator.request("PATCH", path, {
      body: { suspended: false, name: "Renamed shop", fee_bps: 25 },
    });
    expect(resumed.body.data).toEqual(
      expect.objectContaining({ suspended_at: null, name: "Renamed shop", fee_bps: 25 }),
    );
    expect((await createIntent(tenant.apiKey)).status).toBe(200);
    const audit = await operator.request("GET", `/v1/admin/orgs/${tenant.orgId}/audit`);
    expect(audit.body.data.items.slice(0, 2)).toEqual([
      expect.objectContaining({
        action: "organization.updated",
        before: expect.objectContaining({ name: expect.any(String), fee_bps: 0 }),
        after: { name: "Renamed shop", fee_bps: 25, suspended_at: null },
      }),
      expect.objectContaining({ action: "organization.suspended", actor: operator.user.email }),
    ]);
  });

  it("reports the chain, its RPC hosts (no credentials), and the gas and fee wallets", async () => {
    const operator = await signInAs(gateway, { operator: true });
    await expect
      .poll(
        async () =>
          (await operator.request("GET", "/v1/admin/operator/health")).body.data.chains[0],
        { timeout: 60_000, interval: 200 },
      )
      .toEqual(expect.objectContaining({ chain_id: "local", ready: true }));
    const res = await operator.request("GET", "/v1/admin/operator/health");
    expect(res.text).not.toContain(SECRET);
    const data = res.body.data;
    const port = new URL(chain.chain.rpcUrl).port;
    expect(data.chains[0].rpc_urls).toEqual([
      { host: expect.stringMatching(/^127\.0\.0\.1:\d+$/), up: false },
      { host: `127.0.0.1:${port}`, up: true },
    ]);
    expect(data.callbacks).toEqual({ due: 0, oldest_due_at: null, failing_endpoints: 0 });
    expect(data.transactions).toEqual({ pending: 0, stuck: 0 });
    // Neither wallet is funded on this chain: both below GAS_WALLET_LOW_BALANCE.
    expect(data.wallets).toEqual([
      expect.objectContaining({ chain_id: "local", role: "gas", native_balance: "0", low: true }),
      expect.objectContaining({ chain_id: "local", role: "fee", native_balance: "0", low: true }),
    ]);
  });

  it("reconciles the ledger with the chain for the operator", async () => {
    const operator = await signInAs(gateway, { operator: true });
    // Once the watcher has confirmed a block, the report is read at it.
    await expect
      .poll(
        async () => {
          const r = await operator.request("GET", "/v1/admin/operator/reconciliation");
          return r.body.data.chains.find((c: { chain: string }) => c.chain === "local")?.block;
        },
        { timeout: 30_000, interval: 200 },
      )
      .toMatch(/^\d+$/);
    const { status, body } = await operator.request("GET", "/v1/admin/operator/reconciliation");
    expect(status).toBe(200);
    expect(body.data).toEqual(
      expect.objectContaining({ ok: true, differences: 0, unbalanced_entries: [] }),
    );
    // The gas and fee wallets are checked for every token of the chain.
    expect(body.data.accounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: "gas", compared: true, difference: "0" }),
        expect.objectContaining({ kind: "fee", compared: true, difference: "0" }),
      ]),
    );
  });
});
