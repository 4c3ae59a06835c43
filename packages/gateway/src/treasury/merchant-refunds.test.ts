import { createWalletClient, erc20Abi, getAddress, type Hex, parseEther } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { verifyWebhook } from "../../../sdk/src/verify-webhook.ts";
import type { Gateway } from "../gateway.ts";
import type { ReceivedCallback } from "../testing/callback-receiver.ts";
import { signInAs } from "../testing/studio-client.ts";
import { testTransport } from "../testing/test-transport.ts";
import {
  type Intent,
  startTreasuryFixture,
  type TreasuryFixture,
  units,
  WAIT,
} from "./treasury-fixture.ts";

// Merchant refunds through the API (POST /v1/studio/api/payment/intent/{id}/refund), as a
// merchant and a payer can check them: the answers, the chain, the signed callbacks a real HTTP
// receiver gets, and the ledger reconciled with the chain afterwards.

interface RefundView {
  refund_id: string;
  status: string;
  amount: string;
  to_address: string;
  from_address: string;
  tx_hash: Hex | null;
}

let f: TreasuryFixture;
beforeAll(async () => {
  f = await startTreasuryFixture();
});
afterAll(() => f?.stop());

async function merchant(o: { treasury?: Hex; feeBps?: number } = {}) {
  const shop = await f.openShop();
  const headers = { "Content-Type": "application/json", "X-STUDIO-API-KEY": shop.tenant.apiKey };
  const refund = async (
    intent: Intent,
    body: Record<string, unknown>,
    key: string | undefined,
  ): Promise<{ status: number; body: { code: number; message?: string; data: any } }> => {
    const res = await fetch(
      `${f.gw.url}/v1/studio/api/payment/intent/${intent.payment_intent_id}/refund`,
      {
        method: "POST",
        headers: key === undefined ? headers : { ...headers, "Idempotency-Key": key },
        body: JSON.stringify(body),
      },
    );
    return { status: res.status, body: (await res.json()) as any };
  };
  const list = async (intent: Intent) => {
    const res = await fetch(
      `${f.gw.url}/v1/studio/api/payment/intent/${intent.payment_intent_id}/refunds`,
      { headers },
    );
    const body = (await res.json()) as {
      data: { items: RefundView[]; refundable_amount: string };
    };
    expect(res.status, JSON.stringify(body)).toBe(200);
    return body.data;
  };
  const waitRefund = (intent: Intent, id: string, status: string) =>
    vi.waitFor(async () => {
      const found = (await list(intent)).items.find((r) => r.refund_id === id);
      if (found?.status === status) return found;
      throw new Error(`refund ${id}: waiting for ${status}; last seen ${JSON.stringify(found)}`);
    }, WAIT);
  const paid = async (amount: string) => {
    const intent = await shop.create("10");
    await f.pay(intent.payment_address, amount);
    return shop.waitFor(intent, (d) => d.status === "success", "success");
  };
  if (o.treasury) await f.gw.services.treasurySettings.setTreasury(shop.tenant.orgId, o.treasury);
  if (o.feeBps !== undefined)
    await f.gw.services.treasurySettings.setFee(shop.tenant.orgId, o.feeBps);
  return { shop, refund, list, waitRefund, paid };
}

/** The intent's callbacks as received, each checked against the organisation's secret. */
function callbacksOf(intent: Intent, secret: string): Array<Record<string, any>> {
  return f.receiver.received
    .filter((r: ReceivedCallback) => r.body.payment_intent_id === intent.payment_intent_id)
    .map((r) => verifyWebhook(r.rawBody, r.headers["x-stablegate-signature"] as string, secret));
}

async function waitCallbacks(intent: Intent, secret: string, events: string[]) {
  return vi.waitFor(() => {
    const got = callbacksOf(intent, secret);
    const names = got.map((c) => c.event ?? `status:${c.status}`);
    for (const e of events)
      if (!names.includes(e)) throw new Error(`waiting for ${e}; got ${names.join(", ")}`);
    return got;
  }, WAIT);
}

describe("merchant refunds", () => {
  it("refunds part, then the rest, to the payer, each once; a retry returns the same refund, a reused key with another body is 409, an over-refund is refused", async () => {
    const m = await merchant();
    const intent = await m.paid("10");
    const before = await f.tokenBalance(f.chain.payerAddress);

    const noKey = await m.refund(intent, { amount: "1" }, undefined);
    expect(noKey.status).toBe(400);
    expect(noKey.body).toMatchObject({ code: 4000 });
    expect(noKey.body.message).toContain("Idempotency-Key");

    const first = await m.refund(intent, { amount: "2.5" }, "r-1");
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.data).toMatchObject({
      status: "pending",
      amount: "2.5",
      symbol: "USDT",
      from_address: intent.payment_address,
      to_address: getAddress(f.chain.payerAddress),
    });
    const id = first.body.data.refund_id as string;
    // The same key and body: the same refund; "2.50" is the same amount.
    const again = await m.refund(intent, { amount: "2.50" }, "r-1");
    expect(again.status).toBe(200);
    expect(again.body.data.refund_id).toBe(id);
    const reused = await m.refund(intent, { amount: "3" }, "r-1");
    expect(reused.status).toBe(409);
    expect(reused.body).toMatchObject({ code: 4018, data: { refund_id: id } });
    const over = await m.refund(intent, { amount: "7.51" }, "r-2");
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ code: 4071, data: { refundable_amount: "7.5" } });

    const sent = await m.waitRefund(intent, id, "confirmed");
    expect(await f.transferOf(sent.tx_hash as Hex)).toEqual([
      {
        from: intent.payment_address,
        to: getAddress(f.chain.payerAddress),
        value: units("2.5"),
      },
    ]);
    // Retried after it was sent: still the one refund, and nothing more on chain.
    const late = await m.refund(intent, { amount: "2.5" }, "r-1");
    expect(late.body.data).toMatchObject({
      refund_id: id,
      status: "confirmed",
      tx_hash: sent.tx_hash,
    });

    // No amount: everything still refundable.
    const rest = await m.refund(intent, {}, "r-3");
    expect(rest.status, JSON.stringify(rest.body)).toBe(200);
    expect(rest.body.data.amount).toBe("7.5");
    await m.waitRefund(intent, rest.body.data.refund_id, "confirmed");
    const more = await m.refund(intent, { amount: "0.1" }, "r-4");
    expect(more.status).toBe(409);
    expect(more.body).toMatchObject({ code: 4070, data: { refundable_amount: "0" } });

    expect(await f.tokenBalance(f.chain.payerAddress)).toBe(before + units("10"));
    expect(await f.tokenBalance(intent.payment_address)).toBe(0n);
    const out = await f.sentFrom(intent.payment_address);
    expect(out.map((s) => s.value)).toEqual([units("2.5"), units("7.5")]);
    const listed = await m.list(intent);
    expect(listed.refundable_amount).toBe("0");
    expect(listed.items.map((r) => [r.amount, r.status])).toEqual([
      ["2.5", "confirmed"],
      ["7.5", "confirmed"],
    ]);
    // The intent's own fields do not change: KryptoGO's refund_amount is the underpayment's.
    expect(await m.shop.get(intent.payment_intent_id)).toMatchObject({
      status: "success",
      refund_amount: null,
    });

    // Signed like the status callbacks, in order per intent: sent before confirmed, each once.
    const got = await waitCallbacks(intent, m.shop.tenant.webhookSecret, [
      "refund.sent",
      "refund.confirmed",
    ]);
    await vi.waitFor(() => {
      const n = callbacksOf(intent, m.shop.tenant.webhookSecret).filter(
        (c) => c.event === "refund.confirmed",
      ).length;
      if (n < 2) throw new Error(`${n} refund.confirmed callbacks`);
    }, WAIT);
    const events = callbacksOf(intent, m.shop.tenant.webhookSecret);
    expect(events.map((c) => c.event ?? `status:${c.status}`)).toEqual([
      "status:success",
      "refund.sent",
      "refund.confirmed",
      "refund.sent",
      "refund.confirmed",
    ]);
    expect(got[0]).not.toHaveProperty("event");
    const confirmed = events.filter((c) => c.event === "refund.confirmed");
    expect(confirmed[0]).toMatchObject({
      payment_intent_id: intent.payment_intent_id,
      status: "success",
      received_amount: "10",
      refund: {
        refund_id: id,
        kind: "merchant",
        amount: "2.5",
        to_address: getAddress(f.chain.payerAddress),
        tx_hash: sent.tx_hash,
        status: "confirmed",
      },
    });
    expect(new Set(events.map((c) => c.event_id)).size).toBe(events.length);
  });

  it("refunds part to a given address; the rest is collected with the fee, with an opt-in collection callback; nothing is refundable after", async () => {
    const treasury = privateKeyToAccount(generatePrivateKey()).address;
    const m = await merchant({ feeBps: 100 });
    await f.gw.services.callbackPreferences.set(m.shop.tenant.orgId, { collection_events: true });
    const intent = await m.paid("10");
    const elsewhere = privateKeyToAccount(generatePrivateKey()).address;
    const r = await m.refund(intent, { amount: "4", to_address: elsewhere.toLowerCase() }, "c-1");
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.data.to_address).toBe(elsewhere);
    await m.waitRefund(intent, r.body.data.refund_id, "confirmed");
    expect(await f.tokenBalance(elsewhere)).toBe(units("4"));

    // The organisation had no treasury, so nothing was collected yet; now the remainder is.
    await f.gw.services.treasurySettings.setTreasury(m.shop.tenant.orgId, treasury);
    const done = await m.shop.waitFor(intent, (d) => d.aggregated_amount !== null, "collection");
    // 6 left: 1% fee, rounded down to the quote's two decimals.
    expect(done.aggregated_amount).toBe("5.94");
    expect(await f.tokenBalance(treasury)).toBe(units("5.94"));
    expect(await f.tokenBalance(intent.payment_address)).toBe(0n);

    const refused = await m.refund(intent, { amount: "1" }, "c-2");
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe(4070);
    expect(refused.body.message).toContain("asset_pro/transfer");

    const events = await waitCallbacks(intent, m.shop.tenant.webhookSecret, [
      "collection.confirmed",
    ]);
    expect(events.find((c) => c.event === "collection.confirmed")).toMatchObject({
      status: "success",
      aggregated_amount: "5.94",
      collection: {
        amount: "5.94",
        fee: "0.06",
        treasury_address: treasury,
        tx_hash: done.aggregation_tx_hash,
      },
    });
  });

  it("asks for to_address when the payment came from two addresses", async () => {
    const m = await merchant();
    const intent = await m.shop.create("10");
    const second = privateKeyToAccount(generatePrivateKey());
    await f.chain.topUp(second.address, { token: units("5"), eth: parseEther("1") });
    const wallet = createWalletClient({
      account: second,
      chain: anvil,
      transport: testTransport(f.chain.rpcUrl),
    });
    await f.pay(intent.payment_address, "5");
    const hash = await wallet.writeContract({
      address: f.chain.tokenAddress,
      abi: erc20Abi,
      functionName: "transfer",
      args: [intent.payment_address, units("5")],
    });
    await f.publicClient.waitForTransactionReceipt({ hash });
    await m.shop.waitFor(intent, (d) => d.status === "success", "success");
    const ambiguous = await m.refund(intent, { amount: "5" }, "two-1");
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.code).toBe(4072);
    expect(new Set(ambiguous.body.data.payer_addresses)).toEqual(
      new Set([getAddress(f.chain.payerAddress), second.address]),
    );
    const named = await m.refund(intent, { amount: "5", to_address: second.address }, "two-2");
    expect(named.status, JSON.stringify(named.body)).toBe(200);
    expect(named.body.data.to_address).toBe(second.address);
  });

  it("refuses what is not a successful payment, a malformed body, and another organisation's intent", async () => {
    const m = await merchant();
    const other = await merchant();
    const open = await m.shop.create("10");
    const pending = await m.refund(open, { amount: "1" }, "p-1");
    expect(pending.status).toBe(409);
    expect(pending.body.code).toBe(4070);
    expect(pending.body.message).toContain("pending");
    const intent = await m.paid("10");
    for (const [body, field] of [
      [{ amount: "1.0000001" }, "amount"],
      [{ amount: "0" }, "amount"],
      [{ amount: "-1" }, "amount"],
      [{ to_address: "0x1234" }, "to_address"],
      [{ to_address: intent.payment_address }, "to_address"],
    ] as const) {
      const res = await m.refund(intent, body, `bad-${field}-${JSON.stringify(body)}`);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.code).toBe(4000);
    }
    const stranger = await other.refund(intent, { amount: "1" }, "s-1");
    expect(stranger.status).toBe(404);
    expect(stranger.body.code).toBe(4006);
    // A browser (client id and Origin) cannot refund.
    const res = await fetch(
      `${f.gw.url}/v1/studio/api/payment/intent/${intent.payment_intent_id}/refund`,
      {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "X-Client-ID": m.shop.tenant.clientId,
          Origin: "http://localhost:3000",
          "Idempotency-Key": "b-1",
        },
        body: JSON.stringify({ amount: "1" }),
      },
    );
    expect(res.status).toBe(401);
    expect((await m.list(intent)).items).toEqual([]);
  });
});

describe("Studio", () => {
  it("an owner refunds through the admin API (audited); a viewer may list but not refund", async () => {
    const m = await merchant();
    const intent = await m.paid("10");
    // The admin API needs what every Gateway has: its URL and database.
    const gw = f.gw as unknown as Gateway;
    const owner = await signInAs(gw, { orgId: m.shop.tenant.orgId, role: "owner" });
    const viewer = await signInAs(gw, { orgId: m.shop.tenant.orgId, role: "viewer" });
    const path = `/v1/admin/orgs/${m.shop.tenant.orgId}/payments/${intent.payment_intent_id}/refunds`;

    const refused = await viewer.request("POST", path, {
      body: { amount: "1" },
      headers: { "idempotency-key": "studio-1" },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe(4032);
    const made = await owner.request("POST", path, {
      body: { amount: "1" },
      headers: { "idempotency-key": "studio-1" },
    });
    expect(made.status, made.text).toBe(200);
    expect(made.body.data).toMatchObject({ amount: "1", status: "pending" });
    // The same service as the API: the merchant's listing shows it, and so does the viewer's.
    expect((await m.list(intent)).items.map((r) => r.refund_id)).toEqual([
      made.body.data.refund_id,
    ]);
    const listed = await viewer.request("GET", path);
    expect(listed.status).toBe(200);
    expect(listed.body.data.items[0].refund_id).toBe(made.body.data.refund_id);
    await m.waitRefund(intent, made.body.data.refund_id, "confirmed");
    const audit = await f.gw.database.db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "refund.requested")
      .where("org_id", "=", m.shop.tenant.orgId)
      .execute();
    expect(audit).toHaveLength(1);
  });
});

describe("late payment callbacks", () => {
  it("a payment after the deadline is announced, then its refund sent and confirmed, with the status unchanged", async () => {
    const m = await merchant();
    const intent = await m.shop.create("10");
    await m.shop.waitFor(intent, (d) => d.status === "expired", "expiry");
    const hash = await f.pay(intent.payment_address, "2");
    const done = await m.shop.waitFor(intent, (d) => d.late_refund_amount !== null, "late refund");
    const events = await waitCallbacks(intent, m.shop.tenant.webhookSecret, [
      "late_payment.detected",
      "late_payment.refund_sent",
      "late_payment.refunded",
    ]);
    expect(events.map((c) => c.event ?? `status:${c.status}`)).toEqual([
      "status:expired",
      "late_payment.detected",
      "late_payment.refund_sent",
      "late_payment.refunded",
    ]);
    const payer = getAddress(f.chain.payerAddress);
    expect(events[1]).toMatchObject({
      status: "expired",
      late_payment: { tx_hash: hash, from_address: payer, amount: "2" },
    });
    expect(events[3]).toMatchObject({
      status: "expired",
      refund: {
        refund_id: null,
        kind: "late",
        amount: "2",
        to_address: payer,
        tx_hash: done.late_refund_tx_hash,
        status: "confirmed",
      },
      late_payment: { tx_hash: hash },
    });
  });
});

describe("the ledger", () => {
  it("reconciles with the chain after the refunds above", async () => {
    const report = await vi.waitFor(async () => {
      const r = await f.gw.services.reconciler.reconcile({ attempts: 20, waitMs: 500 });
      if (!r.ok) throw new Error(JSON.stringify(r, null, 2));
      return r;
    }, WAIT);
    expect(report.unbalanced_entries).toEqual([]);
    expect(report.intents.filter((i) => i.problems.length > 0)).toEqual([]);
  });
});
