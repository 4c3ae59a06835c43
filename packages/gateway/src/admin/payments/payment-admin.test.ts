import { createHmac } from "node:crypto";
import { parse } from "csv-parse/sync";
import { sql } from "kysely";
import { type Address, createTestClient, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type CallbackReceiver, startCallbackReceiver } from "../../testing/callback-receiver.ts";
import { chainOn, type Intent, pay } from "../../testing/lifecycle-shop.ts";
import { type ManualChain, startManualChain } from "../../testing/manual-chain.ts";
import { type StudioTestClient, signInAs } from "../../testing/studio-client.ts";
import { startTestGateway, type TestGateway, type TestTenant } from "../../testing/test-gateway.ts";
import { testTransport } from "../../testing/test-transport.ts";

// Studio's payments, callbacks and exports over HTTP: intents made through the merchant API and
// paid on anvil, a real callback receiver, a signed-in member.

let chain: ManualChain;
let gw: TestGateway;
let shop: TestTenant;
let other: TestTenant;
let receiver: CallbackReceiver;
let owner: StudioTestClient;
let paid: Intent;
let payTx: string;
const made: Intent[] = [];
// Chain, watcher, dispatcher and receiver all share two busy cores with other test files.
const WAIT = { timeout: 60_000, interval: 100 };

async function create(tenant: TestTenant, body: Record<string, unknown>): Promise<Intent> {
  const res = await fetch(`${gw.url}/v1/studio/api/payment/intent`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-studio-api-key": tenant.apiKey },
    body: JSON.stringify({ fiat_currency: "USD", ...body }),
  });
  const json = (await res.json()) as { data: Intent };
  expect(res.status).toBe(200);
  return json.data;
}

const path = (rest: string, orgId = shop.orgId) => `/v1/admin/orgs/${orgId}${rest}`;

async function ids(query: string): Promise<string[]> {
  const res = await owner.request("GET", path(`/payments?page_size=100&${query}`));
  expect(res.status, res.text).toBe(200);
  return res.body.data.items.map((i: { payment_intent_id: string }) => i.payment_intent_id);
}

beforeAll(async () => {
  chain = await startManualChain();
  receiver = await startCallbackReceiver();
  gw = await startTestGateway({
    env: { CALLBACK_ALLOWED_NETWORKS: "127.0.0.0/8" },
    extraChains: [chainOn(chain, "local", { explorerUrl: "https://explorer.example" })],
    settleIntervalMs: 100,
  });
  shop = await gw.createTenant({ chain: "local" });
  other = await gw.createTenant({ chain: "local" });
  owner = await signInAs(gw, { orgId: shop.orgId, role: "owner" });
  made.push(
    await create(shop, {
      fiat_amount: "10",
      group_key: "Summer_Sale-2026",
      order_data: { order_id: "A-1" },
      callback_url: receiver.url,
    }),
    await create(shop, {
      fiat_amount: "250.5",
      group_key: "winter",
      order_data: { orderId: "B-2" },
    }),
    await create(shop, { fiat_amount: "3", group_key: "summer%other" }),
  );
  paid = made[0] as Intent;
  payTx = (await pay(chain, paid.payment_address, paid.crypto_amount)).hash;
  await vi.waitFor(async () => {
    const detail = await owner.request("GET", path(`/payments/${paid.payment_intent_id}`));
    expect(detail.body.data.intent.status).toBe("success");
    expect(detail.body.data.callbacks[0]?.attempts.length).toBeGreaterThan(0);
  }, WAIT);
}, 180_000);

afterAll(async () => {
  await gw?.close();
  await Promise.allSettled([chain?.stop(), receiver?.close()]);
});

describe("payments list", () => {
  it("finds what each filter names and nothing else", async () => {
    const [a, b, c] = made.map((i) => i.payment_intent_id);
    expect(await ids("")).toEqual([c, b, a]);
    expect(await ids("status=success")).toEqual([a]);
    expect(await ids("status=pending,expired")).toEqual([c, b]);
    expect(await ids("status=pending&status=success")).toEqual([c, b, a]);
    expect(await ids("group_key=summer")).toEqual([c, a]);
    // % and _ are the characters themselves, not wildcards.
    expect(await ids("group_key=r%25o")).toEqual([c]);
    expect(await ids("group_key=r_s")).toEqual([a]);
    expect(await ids("order_id=A-1")).toEqual([a]);
    expect(await ids("order_id=B-2")).toEqual([b]);
    expect(await ids("order_id=A")).toEqual([]);
    expect(await ids(`client_id=${shop.clientId}`)).toEqual([c, b, a]);
    expect(await ids(`client_id=${other.clientId}`)).toEqual([]);
    expect(await ids(`address=${paid.payment_address.toUpperCase().replace("0X", "0x")}`)).toEqual([
      a,
    ]);
    const detail = await owner.request("GET", path(`/payments/${a}`));
    const payer = detail.body.data.intent.payer_address as string;
    // The test chain's payer and the deposit addresses come from one mnemonic: an intent whose
    // deposit address is the payer's matches too.
    const byPayer = made
      .filter((i) => i.payment_address.toLowerCase() === payer.toLowerCase() || i === paid)
      .map((i) => i.payment_intent_id)
      .reverse();
    expect(await ids(`address=${payer}`)).toEqual(byPayer);
    expect(await ids(`tx_hash=${payTx}`)).toEqual([a]);
    expect(await ids(`tx_hash=0x${"0".repeat(64)}`)).toEqual([]);
    const today = new Date().toISOString().slice(0, 10);
    expect(await ids(`from=${today}&to=${today}`)).toEqual([c, b, a]);
    expect(await ids("to=2000-01-01")).toEqual([]);
    expect(await ids(`from=${new Date(Date.now() + 3_600_000).toISOString()}`)).toEqual([]);
    expect(await ids("status=success&group_key=winter")).toEqual([]);
  });

  it("sorts, pages and counts", async () => {
    const [a, b, c] = made.map((i) => i.payment_intent_id);
    expect(await ids("sort=created_at")).toEqual([a, b, c]);
    expect(await ids("sort=fiat_amount")).toEqual([c, a, b]);
    expect(await ids("sort=-fiat_amount")).toEqual([b, a, c]);
    const page = await owner.request("GET", path("/payments?page_size=2&page_number=2"));
    expect(page.body.data).toMatchObject({
      total_count: 3,
      total_count_capped: false,
      page_number: 2,
      page_size: 2,
    });
    expect(page.body.data.items.map((i: Intent) => i.payment_intent_id)).toEqual([a]);
    // A later page keeps its sort (the offset is taken over ids, then the rows are sorted again).
    const second = async (query: string) =>
      (await owner.request("GET", path(`/payments?page_number=2&${query}`))).body.data.items.map(
        (i: Intent) => i.payment_intent_id,
      );
    expect(await second("sort=fiat_amount&page_size=2")).toEqual([b]);
    expect(await second("sort=-fiat_amount&page_size=1")).toEqual([a]);
    expect(page.body.data.items[0]).toMatchObject({
      status: "success",
      reversed_at: null,
      reversal_reason: null,
      order_data: { order_id: "A-1" },
    });
  });

  it("counts up to 10,000 and says when there are more", async () => {
    const crowd = await gw.createTenant({ chain: "local" });
    await sql`
      insert into payment_intents (id, org_id, client_id, payment_chain_id, payment_address,
        deposit_index, token_address, symbol, decimals, crypto_amount, fiat_amount, fiat_currency,
        rate, rate_source, payment_deadline, status)
      select 'crowd' || lpad(g::text, 27, '0'), ${crowd.orgId}, ${crowd.clientId}, 'local',
        '0xcc' || lpad(to_hex(g), 38, '0'), 1000000 + g, '0x' || repeat('1', 40), 'USDT', 6, 1000000,
        '1', 'USD', '1', 'static', now() + interval '1 hour', 'pending'
      from generate_series(1, 10001) as g`.execute(gw.database.db);
    const member = await signInAs(gw, { orgId: crowd.orgId, role: "viewer" });
    const all = await member.request("GET", path("/payments?page_size=1", crowd.orgId));
    expect(all.body.data).toMatchObject({ total_count: 10_000, total_count_capped: true });
    const some = await member.request(
      "GET",
      path("/payments?page_size=1&order_id=none", crowd.orgId),
    );
    expect(some.body.data).toMatchObject({ total_count: 0, total_count_capped: false });
  });

  it("refuses bad input by field name", async () => {
    for (const [query, field] of [
      ["status=paid", "status"],
      ["from=yesterday", "from"],
      ["to=2026-13-45", "to"],
      ["from=2026-11-02&to=2026-11-01", "from"],
      ["page_size=1000", "page_size"],
      ["sort=amount", "sort"],
      ["address=nothex", "address"],
      ["tx_hash=0xzz", "tx_hash"],
    ] as const) {
      const res = await owner.request("GET", path(`/payments?${query}`));
      expect(res.status, query).toBe(400);
      expect(res.body, query).toMatchObject({ code: 4000, data: { field } });
    }
  });
});

describe("payment detail", () => {
  it("shows the timeline, the transfer, the callback attempts; another organisation's intent is 404", async () => {
    const res = await owner.request("GET", path(`/payments/${paid.payment_intent_id}`));
    expect(res.status).toBe(200);
    const d = res.body.data;
    expect(d.history.map((h: { to_status: string }) => h.to_status)).toEqual([
      "pending",
      "success",
    ]);
    expect(d.transfers).toEqual([
      expect.objectContaining({
        chain_id: "local",
        tx_hash: payTx,
        to: expect.stringMatching(new RegExp(paid.payment_address, "i")),
        amount: paid.crypto_amount,
        state: "confirmed",
        explorer_url: `https://explorer.example/tx/${payTx}`,
      }),
    ]);
    expect(d.callbacks[0]).toMatchObject({ status: "success", url: receiver.url });
    expect(d.callbacks[0].attempts[0]).toMatchObject({ outcome: "delivered", http_status: 200 });

    const theirs = await create(other, { fiat_amount: "1" });
    const foreign = await owner.request("GET", path(`/payments/${theirs.payment_intent_id}`));
    expect(foreign).toMatchObject({ status: 404, body: { code: 4006 } });
    const elsewhere = await owner.request(
      "GET",
      path(`/payments/${theirs.payment_intent_id}`, other.orgId),
    );
    expect(elsewhere).toMatchObject({ status: 404, body: { code: 4004 } });
  });

  it("resends a callback as a new attempt; a viewer may read but not resend", async () => {
    const id = paid.payment_intent_id;
    const viewer = await signInAs(gw, { orgId: shop.orgId, role: "viewer" });
    expect((await viewer.request("GET", path(`/payments/${id}`))).status).toBe(200);
    const refused = await viewer.request("POST", path(`/payments/${id}/callbacks/resend`));
    expect(refused).toMatchObject({ status: 403, body: { code: 4032 } });

    const before = receiver.received.length;
    const resent = await owner.request("POST", path(`/payments/${id}/callbacks/resend`));
    expect(resent.status, resent.text).toBe(200);
    await receiver.waitFor(before + 1);
    await vi.waitFor(async () => {
      const d = (await owner.request("GET", path(`/payments/${id}`))).body.data;
      expect(d.callbacks[0].attempts).toHaveLength(2);
    }, WAIT);
    const audit = await gw.database.db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "callback.resent")
      .execute();
    expect(audit).toEqual([
      expect.objectContaining({ org_id: shop.orgId, target: `payment_intent:${id}` }),
    ]);
  }, 120_000);
});

describe("callbacks", () => {
  it("lists deliveries and sends a signed test event through the guard", async () => {
    const list = await owner.request("GET", path("/callbacks?state=delivered"));
    expect(list.body.data.items).toEqual([
      expect.objectContaining({
        payment_intent_id: paid.payment_intent_id,
        state: "delivered",
        attempts: 2,
      }),
    ]);
    expect((await owner.request("GET", path("/callbacks?state=failed"))).body.data.items).toEqual(
      [],
    );
    expect((await owner.request("GET", path("/callbacks?state=lost"))).body).toMatchObject({
      code: 4000,
      data: { field: "state" },
    });

    const before = receiver.received.length;
    const withCredentials = receiver.url.replace("http://", "http://hook:s3cret@");
    const sent = await owner.request("POST", path("/callbacks/test"), {
      body: { url: `${withCredentials}?test=1` },
    });
    expect(sent.status, sent.text).toBe(200);
    expect(sent.body.data).toMatchObject({ http_status: 200, error: null });
    const [call] = (await receiver.waitFor(before + 1)).slice(before);
    expect(call?.body).toMatchObject({ type: "test", event_id: sent.body.data.event_id });
    const signature = String(call?.headers["x-stablegate-signature"]);
    const t = /t=(\d+)/.exec(signature)?.[1];
    const expected = createHmac("sha256", shop.webhookSecret)
      .update(`${t}.${call?.rawBody}`)
      .digest("hex");
    expect(signature).toContain(`v1=${expected}`);
    expect(call?.headers.authorization).toBe(
      `Basic ${Buffer.from("hook:s3cret").toString("base64")}`,
    );
    const audit = await gw.database.db
      .selectFrom("audit_log")
      .select("target")
      .where("action", "=", "callback.test_sent")
      .execute();
    expect(audit).toEqual([{ target: `${receiver.url}?test=1` }]);

    const metadata = await owner.request("POST", path("/callbacks/test"), {
      body: { url: "http://169.254.169.254/latest" },
    });
    expect(metadata.body.data).toMatchObject({
      http_status: null,
      error: expect.stringMatching(/refused/),
    });
    const bad = await owner.request("POST", path("/callbacks/test"), { body: { url: "ftp://x" } });
    expect(bad).toMatchObject({ status: 400, body: { code: 4000, data: { field: "url" } } });
    const viewer = await signInAs(gw, { orgId: shop.orgId, role: "viewer" });
    const refused = await viewer.request("POST", path("/callbacks/test"), {
      body: { url: receiver.url },
    });
    expect(refused).toMatchObject({ status: 403, body: { code: 4032 } });
  });

  it("names a failing endpoint", async () => {
    const failing = await startCallbackReceiver(() => ({ status: 410 }));
    try {
      const intent = await create(shop, { fiat_amount: "4", callback_url: failing.url });
      await pay(chain, intent.payment_address, intent.crypto_amount);
      await vi.waitFor(async () => {
        const res = await owner.request("GET", path("/callbacks/endpoints"));
        expect(res.body.data).toEqual([
          expect.objectContaining({
            url: failing.url,
            host: new URL(failing.url).host,
            failures: 1,
            last_error: expect.stringContaining("410"),
          }),
        ]);
      }, WAIT);
      const overview = await owner.request("GET", path("/overview?days=7"));
      expect(overview.body.data.alerts).toEqual(
        expect.arrayContaining([expect.objectContaining({ kind: "callback_failing" })]),
      );
    } finally {
      await failing.close();
    }
  }, 120_000);
});

describe("overview", () => {
  it("counts outcomes, volume and balances", async () => {
    const res = await owner.request("GET", path("/overview"));
    expect(res.status, res.text).toBe(200);
    const o = res.body.data;
    expect(o.by_status.success).toBeGreaterThanOrEqual(1);
    expect(o.open_intents).toBe(o.by_status.pending);
    const today = new Date().toISOString().slice(0, 10);
    const volume = o.volume_per_day.find((v: { day: string }) => v.day === today);
    expect(volume).toMatchObject({ symbol: "USDT" });
    expect(o.success_rate).toBe(1);
    expect(o.balances).toEqual(
      expect.arrayContaining([expect.objectContaining({ chain_id: "local", kind: "hot" })]),
    );
    expect((await owner.request("GET", path("/overview?days=0"))).body).toMatchObject({
      code: 4000,
      data: { field: "days" },
    });
  });

  it("warns of a hot wallet with tokens and no gas, then of a withdrawal not mined for 15 minutes", async () => {
    // An organisation of its own: its hot wallet and transactions are the only ones in its alerts.
    const t = await gw.createTenant({ chain: "local" });
    const member = await signInAs(gw, { orgId: t.orgId, role: "owner" });
    const read = async () => {
      const res = await member.request("GET", path("/overview", t.orgId));
      expect(res.status, res.text).toBe(200);
      return res.body.data as {
        balances: { kind: string; chain_id: string; address: Address; amount: string | null }[];
        alerts: { kind: string; message: string; link?: string }[];
      };
    };
    const first = await read();
    const hot = first.balances.find((b) => b.kind === "hot" && b.chain_id === "local");
    expect(hot?.amount).toBe("0");
    const address = hot?.address as Address;
    // No tokens and no native coin: nothing to send, so no gas to miss.
    expect(first.alerts).toEqual([]);

    await pay(chain, address, "5");
    expect(await chain.publicClient.getBalance({ address })).toBe(0n);
    expect((await read()).alerts).toEqual([
      {
        kind: "gas_low",
        message: `the hot wallet ${address} has no native coin on local to pay for withdrawals`,
        since: expect.any(String),
        link: "treasury",
      },
    ]);

    const anvilClient = createTestClient({
      mode: "anvil",
      chain: anvil,
      transport: testTransport(chain.chain.rpcUrl),
    });
    await anvilClient.setBalance({ address, value: parseEther("1") });
    expect((await read()).alerts).toEqual([]);

    // A withdrawal through the transfer API: signed and broadcast, not mined until the test mines.
    const res = await fetch(`${gw.url}/v1/studio/api/asset_pro/transfer`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-studio-api-key": t.apiKey },
      body: JSON.stringify({
        chain_id: "local",
        contract_address: chain.chain.tokenAddress,
        amount: "1",
        wallet_address: privateKeyToAccount(generatePrivateKey()).address,
      }),
    });
    const sent = (await res.json()) as { code: number; data: { id: string; tx_hash: string } };
    expect(sent.code, JSON.stringify(sent)).toBe(0);
    const tx = await gw.database.db
      .selectFrom("chain_txs")
      .select(["id", "state", "tx_hash"])
      .where("tx_hash", "=", sent.data.tx_hash)
      .executeTakeFirstOrThrow();
    expect(["signed", "broadcast"]).toContain(tx.state);
    // Just sent: not stuck yet.
    expect((await read()).alerts).toEqual([]);

    // The overview has no clock to move, so the transaction is made 16 minutes older instead;
    // it is still really unmined (the chain mines only when the test says).
    await gw.database.db
      .updateTable("chain_txs")
      .set({ created_at: sql`created_at - interval '16 minutes'` })
      .where("id", "=", tx.id)
      .execute();
    expect((await read()).alerts).toEqual([
      {
        kind: "transfer_stuck",
        message: `a payout transaction (${tx.tx_hash}) has not been mined`,
        since: expect.any(String),
      },
    ]);

    // Mined and confirmed: the alert goes.
    await expect
      .poll(async () => {
        await chain.mine();
        const row = await gw.database.db
          .selectFrom("chain_txs")
          .select("state")
          .where("id", "=", tx.id)
          .executeTakeFirstOrThrow();
        return row.state;
      }, WAIT)
      .toBe("confirmed");
    expect((await read()).alerts).toEqual([]);
  }, 120_000);
});

describe("exports", () => {
  it("streams the payments CSV with the list's figures", async () => {
    const res = await owner.request("GET", path("/exports/payments.csv"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="payments.csv"/);
    const records = parse(res.text, { columns: true }) as Record<string, string>[];
    const list = await owner.request("GET", path("/payments?sort=created_at&page_size=100"));
    const items = list.body.data.items as Record<string, unknown>[];
    expect(records).toHaveLength(items.length);
    for (const [i, item] of items.entries()) {
      const row = records[i] as Record<string, string>;
      for (const [key, value] of Object.entries(item)) {
        const cell =
          value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
        expect(row[key], key).toBe(cell);
      }
    }
    const none = await owner.request("GET", path("/exports/payments.csv?to=2000-01-01"));
    expect(none.text.trim().split("\n")).toHaveLength(1);
    const bad = await owner.request("GET", path("/exports/withdrawals.csv?from=2026-02-30x"));
    expect(bad).toMatchObject({ status: 400, body: { code: 4000, data: { field: "from" } } });
    const withdrawals = await owner.request("GET", path("/exports/withdrawals.csv"));
    // Its rows are compared with the withdrawals list in payouts/withdrawals.test.ts.
    expect(withdrawals.text.trim()).toBe(
      "id,source,chain_id,token,contract_address,amount,to_address,status,requested_by,approved_by,rejected_by,reject_reason,transfer_id,tx_hash,explorer_url,error,created_at",
    );
  });
});
