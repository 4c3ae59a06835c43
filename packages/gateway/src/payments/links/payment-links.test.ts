import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StudioTestClient, signInAs } from "../../testing/studio-client.ts";
import { startTestGateway, type TestGateway } from "../../testing/test-gateway.ts";

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(() => gateway?.close());

/** Opens a link as a payer's browser would, without following the redirect. */
const open = (url: string) => fetch(url, { redirect: "manual" });

const intentIdOf = (res: Response) => {
  const location = res.headers.get("location") ?? "";
  expect(location).toMatch(/^\/pay\/[0-9A-Za-z]{32}$/);
  return location.slice("/pay/".length);
};

async function merchant(role: "owner" | "admin" = "admin") {
  const tenant = await gateway.createTenant();
  const member = await signInAs(gateway, { orgId: tenant.orgId, role });
  return { tenant, member, links: `/v1/admin/orgs/${tenant.orgId}/payment-links` };
}

const createLink = async (member: StudioTestClient, path: string, body: object) => {
  const res = await member.request("POST", path, { body });
  expect(res.status, res.text).toBe(200);
  return res.body.data;
};

describe("payment links", () => {
  it("opens the hosted checkout of a new intent for the link's amount, each open a new one", async () => {
    const { tenant, member, links } = await merchant();
    const link = await createLink(member, links, {
      fiat_amount: "300",
      fiat_currency: "TWD",
      description: "Tea, 1 kg",
      reusable: true,
    });
    expect(link).toMatchObject({ reusable: true, active: true, uses: 0 });
    expect(link.url).toBe(`${gateway.url}/l/${link.id}`);

    const first = await open(link.url);
    expect(first.status).toBe(303);
    const firstId = intentIdOf(first);
    const page = await fetch(`${gateway.url}/pay/${firstId}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<title>Checkout");
    const payment = await fetch(`${gateway.url}/v1/checkout/payment/${firstId}`).then((r) =>
      r.json(),
    );
    expect(payment.data).toMatchObject({
      fiat_amount: "300",
      fiat_currency: "TWD",
      crypto_amount: "9.23", // 300 TWD at the test gateway's 32.5 TWD per USD
      status: "pending",
    });
    const intent = await fetch(`${gateway.url}/v1/studio/api/payment/intent/${firstId}`, {
      headers: { "X-STUDIO-API-KEY": tenant.apiKey },
    }).then((r) => r.json());
    expect(intent.data.order_data).toEqual({ payment_link_id: link.id, description: "Tea, 1 kg" });
    // The link's description is the checkout's order summary.
    expect(intent.data.description).toBe("Tea, 1 kg");

    const secondId = intentIdOf(await open(link.url));
    expect(secondId).not.toBe(firstId);
    const listed = await member.request("GET", links);
    expect(listed.body.data).toMatchObject({ total_count: 1, page_number: 1 });
    expect(listed.body.data.items[0]).toMatchObject({ id: link.id, uses: 2, intent_id: secondId });
  });

  it("makes one intent for a one-time link, even opened twice at once, then says it was used", async () => {
    const { member, links } = await merchant();
    const link = await createLink(member, links, {
      fiat_amount: "12.5",
      fiat_currency: "USD",
      reusable: false,
    });
    const [a, b] = await Promise.all([open(link.url), open(link.url)]);
    expect([a.status, b.status]).toEqual([303, 303]);
    const intentId = intentIdOf(a);
    // While its intent waits for payment, the link leads back to it.
    expect(intentIdOf(b)).toBe(intentId);
    expect(intentIdOf(await open(link.url))).toBe(intentId);
    const made = await gateway.database.db
      .selectFrom("payment_intents")
      .select("id")
      .where("order_data", "is not", null)
      .where((eb) => eb(eb.cast("order_data", "text"), "like", `%${link.id}%`))
      .execute();
    expect(made.map((r) => r.id)).toEqual([intentId]);

    // Once the intent is decided (here: expired), the link is spent.
    await gateway.database.db
      .updateTable("payment_intents")
      .set({ status: "expired" })
      .where("id", "=", intentId)
      .execute();
    const used = await open(link.url);
    expect(used.status).toBe(410);
    expect(await used.text()).toContain("This payment link was used");
  });

  it("answers 404 for a link turned off or unknown; HEAD spends nothing", async () => {
    const { member, links, tenant } = await merchant();
    const link = await createLink(member, links, {
      fiat_amount: "1",
      fiat_currency: "USD",
      reusable: false,
    });
    expect((await fetch(link.url, { method: "HEAD" })).status).toBe(200);
    const off = await member.request("PATCH", `${links}/${link.id}`, { body: { active: false } });
    expect([off.status, off.body.data.active]).toEqual([200, false]);
    const gone = await open(link.url);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toContain("Payment link not found");
    expect((await open(`${gateway.url}/l/pl_nothingHere12345678`)).status).toBe(404);
    expect((await open(`${gateway.url}/l/..%2Fadmin`)).status).toBe(404);
    const count = await gateway.database.db
      .selectFrom("payment_intents")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("org_id", "=", tenant.orgId)
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);

    const audit = await gateway.database.db
      .selectFrom("audit_log")
      .select(["action", "target", "after"])
      .where("org_id", "=", tenant.orgId)
      .orderBy("id")
      .execute();
    expect(audit.map((a) => a.action)).toEqual([
      "payment_link.created",
      "payment_link.deactivated",
    ]);
  });

  it("is made by owners and admins only, with an amount the API accepts", async () => {
    const { tenant, member, links } = await merchant("owner");
    const dev = await signInAs(gateway, { orgId: tenant.orgId, role: "developer" });
    const refused = await dev.request("POST", links, {
      body: { fiat_amount: "1", fiat_currency: "USD", reusable: true },
    });
    expect([refused.status, refused.body.code]).toEqual([403, 4032]);
    expect((await dev.request("GET", links)).status).toBe(200);
    for (const [body, field] of [
      [{ fiat_amount: "1.001", fiat_currency: "USD", reusable: true }, "fiat_amount"],
      [{ fiat_amount: "1", fiat_currency: "XXX", reusable: true }, "fiat_currency"],
      [{ fiat_amount: "100.5", fiat_currency: "JPY", reusable: true }, "fiat_amount"],
      [{ fiat_amount: "1", fiat_currency: "USD" }, "reusable"],
      [{ fiat_amount: 1, fiat_currency: "USD", reusable: true }, "fiat_amount"],
    ] as const) {
      const r = await member.request("POST", links, { body });
      expect([r.status, r.body.code, r.body.data?.field], r.text).toEqual([400, 4000, field]);
    }
    const unknown = await member.request("PATCH", `${links}/pl_nothingHere12345678`, {
      body: { active: false },
    });
    expect([unknown.status, unknown.body.code]).toEqual([404, 4004]);
  });
});
