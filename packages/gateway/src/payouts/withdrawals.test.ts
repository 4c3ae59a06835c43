import { parse } from "csv-parse/sync";
import { Secret, TOTP } from "otpauth";
import { type Address, getAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OrgRole } from "../admin/roles.ts";
import { type StudioTestClient, type StudioTestUser, signInAs } from "../testing/studio-client.ts";
import {
  CHAIN,
  type FundedTenant,
  recipient,
  startTransferFixture,
  type TransferFixture,
  units,
} from "./transfer-fixture.ts";

// Studio's withdrawals on a real anvil chain through the real gateway: sent at once at or below
// the approval threshold, held (nothing signed) above it until a second member approves.

let f: TransferFixture;
beforeAll(async () => {
  f = await startTransferFixture();
});
afterAll(() => f?.stop());

type Member = StudioTestClient & { user: StudioTestUser; totp?: TOTP };

/** A member of the shop; with `totp`, one whose second factor is set up. */
async function member(shop: FundedTenant, role: OrgRole, o: { totp?: boolean } = {}) {
  const m: Member = await signInAs(f.gateway, { orgId: shop.orgId, role });
  if (o.totp) {
    const secret = new Secret();
    await f.gateway.database.db
      .updateTable("users")
      .set({ totp_secret: secret.base32, totp_enabled_at: new Date() })
      .where("id", "=", m.user.userId)
      .execute();
    m.totp = new TOTP({ secret });
  }
  return m;
}

const path = (shop: FundedTenant, rest = "") => `/v1/admin/orgs/${shop.orgId}${rest}`;

let keys = 0;
const withdrawal = (amount: string, to: Address = recipient(), extra = {}) => ({
  chain_id: CHAIN,
  token: "USDT",
  amount,
  to_address: to,
  idempotency_key: `w-${process.pid}-${++keys}`,
  ...extra,
});

/** Chain transactions signed from the shop's hot wallet. */
async function signedFrom(shop: FundedTenant) {
  const rows = await f.gateway.database.db
    .selectFrom("chain_txs")
    .select("id")
    .where("sender", "=", shop.hot)
    .execute();
  return rows.length;
}

async function auditActions(shop: FundedTenant) {
  const rows = await f.gateway.database.db
    .selectFrom("audit_log")
    .select(["action", "actor", "target", "before", "after"])
    .where("org_id", "=", shop.orgId)
    .orderBy("id")
    .execute();
  return rows;
}

/** Mines until the withdrawal is confirmed, as Studio's list shows it. */
async function mineUntilConfirmed(shop: FundedTenant, by: Member, id: string) {
  await expect
    .poll(
      async () => {
        await f.chain.mine();
        const got = await by.request("GET", path(shop, `/withdrawals/${id}`));
        return `${got.body.data.status}${got.body.data.error ? `: ${got.body.data.error}` : ""}`;
      },
      { timeout: 60_000, interval: 100 },
    )
    .toBe("confirmed");
}

describe("Studio withdrawals at or below the approval threshold", () => {
  it("sends at once through the transfer path, lists it beside API transfers, and audits it", async () => {
    const shop = await f.fundedTenant("100");
    const admin = await member(shop, "admin");
    const to = recipient();
    const made = await admin.request("POST", path(shop, "/withdrawals"), {
      body: withdrawal("12.5", to),
    });
    expect(made.status).toBe(200);
    expect(made.body.data).toMatchObject({
      source: "studio",
      chain_id: CHAIN,
      token: "USDT",
      amount: "12.5",
      to_address: to,
      status: "submitted",
      requested_by: admin.user.email,
      approved_by: null,
    });
    expect(made.body.data.tx_hash).toMatch(/^0x[0-9a-f]{64}$/);
    await mineUntilConfirmed(shop, admin, made.body.data.id);
    expect(await f.tokenBalance(to)).toBe(units("12.5"));

    // The transfer API sees it as one of the organisation's transfers, wire shape unchanged.
    const viaApi = await f.getTransfer(shop, made.body.data.transfer_id);
    expect(viaApi.data).toMatchObject({ status: "confirmed", amount: "12.5", wallet_address: to });

    // An API transfer shows in Studio's list, source "api", newest first.
    const api = await f.transfer(shop, f.body("1"));
    expect(api.code).toBe(0);
    const list = await admin.request("GET", path(shop, "/withdrawals?page_size=10"));
    expect(list.body.data.total_count).toBe(2);
    expect(
      list.body.data.items.map((w: { source: string; id: string }) => [w.source, w.id]),
    ).toEqual([
      ["api", api.data.id],
      ["studio", made.body.data.id],
    ]);
    expect(list.body.data.items[0].requested_by).toMatch(/^API key /);
    const confirmedOnly = await admin.request(
      "GET",
      path(shop, "/withdrawals?status=confirmed,awaiting_approval"),
    );
    expect(confirmedOnly.body.data.items.map((w: { id: string }) => w.id)).toEqual([
      made.body.data.id,
    ]);

    const audit = await auditActions(shop);
    expect(audit).toEqual([
      expect.objectContaining({
        action: "withdrawal.sent",
        actor: admin.user.email,
        target: `withdrawal:${made.body.data.id}`,
        after: expect.objectContaining({ amount: "12.5", to_address: to }),
      }),
    ]);
  });

  it("returns the same withdrawal for a retried idempotency_key, and refuses it with another body", async () => {
    const shop = await f.fundedTenant("50");
    const admin = await member(shop, "admin");
    const body = withdrawal("5");
    const retries = await Promise.all(
      [1, 2, 3].map(() => admin.request("POST", path(shop, "/withdrawals"), { body })),
    );
    for (const r of retries) expect(r.status).toBe(200);
    expect(new Set(retries.map((r) => r.body.data.id)).size).toBe(1);
    const other = await admin.request("POST", path(shop, "/withdrawals"), {
      body: { ...body, amount: "6" },
    });
    expect([other.status, other.body.code]).toEqual([409, 4018]);
    expect(await signedFrom(shop)).toBe(1);
    const list = await admin.request("GET", path(shop, "/withdrawals"));
    expect(list.body.data.total_count).toBe(1);
  });

  it("goes through the organisation's limits and balance checks like an API transfer", async () => {
    const shop = await f.fundedTenant("20");
    const admin = await member(shop, "admin");
    const limits = await admin.request("PATCH", path(shop, "/limits"), {
      body: { max_transfer_amount: "10" },
    });
    expect(limits.body.data).toEqual({
      max_transfer_amount: "10",
      daily_transfer_cap: null,
      withdrawal_approval_threshold: null,
    });
    const tooBig = await admin.request("POST", path(shop, "/withdrawals"), {
      body: withdrawal("10.5"),
    });
    expect([tooBig.status, tooBig.body.code]).toEqual([403, 4019]);
    await admin.request("PATCH", path(shop, "/limits"), { body: { max_transfer_amount: null } });
    const broke = await admin.request("POST", path(shop, "/withdrawals"), {
      body: withdrawal("25"),
    });
    expect([broke.status, broke.body.code, broke.body.data]).toEqual([
      400,
      4015,
      { insufficient_amount: "5" },
    ]);
    // Refused: nothing reserved, nothing recorded as a withdrawal.
    const list = await admin.request("GET", path(shop, "/withdrawals"));
    expect(list.body.data.total_count).toBe(0);
  });
});

describe("Studio withdrawals above the approval threshold", () => {
  it("wait with nothing signed; the requester cannot approve; two concurrent approvals send once", async () => {
    const shop = await f.fundedTenant("100");
    const maker = await member(shop, "admin");
    const checkerA = await member(shop, "admin");
    const checkerB = await member(shop, "owner", { totp: true });
    const viewer = await member(shop, "viewer");
    const set = await maker.request("PATCH", path(shop, "/limits"), {
      body: { withdrawal_approval_threshold: "10" },
    });
    expect(set.body.data.withdrawal_approval_threshold).toBe("10");

    // Exactly the threshold is sent at once.
    const at = await maker.request("POST", path(shop, "/withdrawals"), { body: withdrawal("10") });
    expect(at.body.data.status).toBe("submitted");
    expect(await signedFrom(shop)).toBe(1);

    const to = recipient();
    const made = await maker.request("POST", path(shop, "/withdrawals"), {
      body: withdrawal("25", to),
    });
    expect(made.status).toBe(200);
    expect(made.body.data).toMatchObject({
      status: "awaiting_approval",
      tx_hash: null,
      transfer_id: null,
      requested_by: maker.user.email,
    });
    const id = made.body.data.id;
    expect(await signedFrom(shop)).toBe(1);
    const payouts = await f.gateway.database.db
      .selectFrom("payouts")
      .select("id")
      .where("org_id", "=", shop.orgId)
      .execute();
    expect(payouts).toHaveLength(1);

    const own = await maker.request("POST", path(shop, `/withdrawals/${id}/approve`), { body: {} });
    expect([own.status, own.body.code]).toEqual([403, 4046]);
    const byViewer = await viewer.request("POST", path(shop, `/withdrawals/${id}/approve`), {
      body: {},
    });
    expect([byViewer.status, byViewer.body.code]).toEqual([403, 4032]);
    // An owner approving confirms with the second factor.
    const noCode = await checkerB.request("POST", path(shop, `/withdrawals/${id}/approve`), {
      body: {},
    });
    expect([noCode.status, noCode.body.code]).toEqual([403, 4037]);
    expect(await signedFrom(shop)).toBe(1);

    const both = await Promise.all([
      checkerA.request("POST", path(shop, `/withdrawals/${id}/approve`), { body: {} }),
      checkerB.request("POST", path(shop, `/withdrawals/${id}/approve`), {
        body: { totp_code: checkerB.totp?.generate() },
      }),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    const won = both.find((r) => r.status === 200);
    const lost = both.find((r) => r.status === 409);
    expect(lost?.body.code).toBe(4047);
    expect(won?.body.data).toMatchObject({ id, status: "submitted" });
    expect([checkerA.user.email, checkerB.user.email]).toContain(won?.body.data.approved_by);
    expect(await signedFrom(shop)).toBe(2);

    await mineUntilConfirmed(shop, maker, id);
    expect(await f.tokenBalance(to)).toBe(units("25"));
    const again = await checkerA.request("POST", path(shop, `/withdrawals/${id}/approve`), {
      body: {},
    });
    expect([again.status, again.body.code]).toEqual([409, 4047]);
    expect(await signedFrom(shop)).toBe(2);

    const actions = (await auditActions(shop)).map((a) => a.action);
    expect(actions).toEqual([
      "limits.changed",
      "withdrawal.sent",
      "withdrawal.requested",
      "withdrawal.approved",
    ]);
  });

  it("can be rejected with a reason; nothing is sent and it cannot be approved afterwards", async () => {
    const shop = await f.fundedTenant("100");
    const maker = await member(shop, "admin");
    const checker = await member(shop, "admin");
    await maker.request("PATCH", path(shop, "/limits"), {
      body: { withdrawal_approval_threshold: "1" },
    });
    const made = await maker.request("POST", path(shop, "/withdrawals"), { body: withdrawal("2") });
    const id = made.body.data.id;
    const noReason = await checker.request("POST", path(shop, `/withdrawals/${id}/reject`), {
      body: {},
    });
    expect([noReason.status, noReason.body.code, noReason.body.data?.field]).toEqual([
      400,
      4000,
      "reason",
    ]);
    const rejected = await checker.request("POST", path(shop, `/withdrawals/${id}/reject`), {
      body: { reason: "wrong recipient" },
    });
    expect(rejected.body.data).toMatchObject({
      status: "rejected",
      rejected_by: checker.user.email,
      reject_reason: "wrong recipient",
    });
    const late = await checker.request("POST", path(shop, `/withdrawals/${id}/approve`), {
      body: {},
    });
    expect([late.status, late.body.code]).toEqual([409, 4047]);
    expect(await signedFrom(shop)).toBe(0);
    const audit = await auditActions(shop);
    expect(audit.at(-1)).toMatchObject({
      action: "withdrawal.rejected",
      actor: checker.user.email,
      after: { status: "rejected", reason: "wrong recipient" },
    });
    const missing = await checker.request("POST", path(shop, "/withdrawals/999999/approve"), {
      body: {},
    });
    expect([missing.status, missing.body.code]).toEqual([404, 4045]);

    // The CSV export shows what the list shows (oldest first), the rejected one included.
    const list = await checker.request("GET", path(shop, "/withdrawals"));
    const csv = await checker.request("GET", path(shop, "/exports/withdrawals.csv"));
    const [header = [], ...rows] = parse(csv.text) as string[][];
    expect(rows.map((r) => Object.fromEntries(header.map((k, i) => [k, r[i]])))).toEqual(
      [...list.body.data.items]
        .reverse()
        .map((w: Record<string, unknown>) =>
          Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v === null ? "" : String(v)])),
        ),
    );
    expect(rows).toHaveLength(1);
  });

  it("refuses an approval the balance cannot cover; the withdrawal keeps waiting", async () => {
    const shop = await f.fundedTenant("30");
    const maker = await member(shop, "admin");
    const checker = await member(shop, "admin");
    await maker.request("PATCH", path(shop, "/limits"), {
      body: { withdrawal_approval_threshold: "1" },
    });
    const made = await maker.request("POST", path(shop, "/withdrawals"), {
      body: withdrawal("20"),
    });
    expect(made.body.data.status).toBe("awaiting_approval");
    // Meanwhile an API transfer spends most of the balance (in flight: not mined).
    expect((await f.transfer(shop, f.body("15"))).code).toBe(0);
    const refused = await checker.request(
      "POST",
      path(shop, `/withdrawals/${made.body.data.id}/approve`),
      { body: {} },
    );
    expect([refused.status, refused.body.code, refused.body.data]).toEqual([
      400,
      4015,
      { insufficient_amount: "5" },
    ]);
    const still = await checker.request("GET", path(shop, `/withdrawals/${made.body.data.id}`));
    expect(still.body.data).toMatchObject({ status: "awaiting_approval", approved_by: null });
    expect(await signedFrom(shop)).toBe(1);
  });

  it("asks an owner for a second factor to request one: none set up 4036, wrong code 4037", async () => {
    const shop = await f.fundedTenant("100");
    const admin = await member(shop, "admin");
    await admin.request("PATCH", path(shop, "/limits"), {
      body: { withdrawal_approval_threshold: "1" },
    });
    const bare = await member(shop, "owner");
    const none = await bare.request("POST", path(shop, "/withdrawals"), { body: withdrawal("5") });
    expect([none.status, none.body.code]).toEqual([403, 4036]);
    const owner = await member(shop, "owner", { totp: true });
    const wrong = await owner.request("POST", path(shop, "/withdrawals"), {
      body: withdrawal("5", recipient(), { totp_code: "000000" }),
    });
    expect([wrong.status, wrong.body.code]).toEqual([403, 4037]);
    const right = await owner.request("POST", path(shop, "/withdrawals"), {
      body: withdrawal("5", recipient(), { totp_code: owner.totp?.generate() }),
    });
    expect(right.body.data.status).toBe("awaiting_approval");
    const list = await admin.request("GET", path(shop, "/withdrawals?status=awaiting_approval"));
    expect(list.body.data.total_count).toBe(1);
  });
});

describe("withdrawal preview, roles and validation", () => {
  it("previews balance, gas, fee, limits and problems without a side effect", async () => {
    const shop = await f.fundedTenant("30");
    const admin = await member(shop, "admin");
    await admin.request("PATCH", path(shop, "/limits"), {
      body: { withdrawal_approval_threshold: "20", daily_transfer_cap: "100" },
    });
    const counts = async () => {
      const db = f.gateway.database.db;
      const n = async (table: "payouts" | "withdrawals" | "audit_log") =>
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<string>().as("n"))
            .executeTakeFirstOrThrow()
        ).n;
      return [
        await n("payouts"),
        await n("withdrawals"),
        await n("audit_log"),
        await signedFrom(shop),
      ];
    };
    const before = await counts();
    const { token, amount, chain_id, to_address } = withdrawal("25");
    const preview = await admin.request("POST", path(shop, "/withdrawals/preview"), {
      body: { token, amount, chain_id, to_address },
    });
    expect(preview.status).toBe(200);
    expect(preview.body.data).toMatchObject({
      balance: "30",
      in_flight: "0",
      gas_balance: "1",
      hot_wallet_address: shop.hot,
      needs_approval: true,
      limits: {
        max_transfer_amount: null,
        daily_transfer_cap: "100",
        withdrawal_approval_threshold: "20",
        sent_today: "0",
        remaining_today: "100",
      },
      problems: [],
    });
    expect(Number(preview.body.data.fee_estimate)).toBeGreaterThan(0);
    const short = await admin.request("POST", path(shop, "/withdrawals/preview"), {
      body: { token, chain_id, to_address, amount: "31" },
    });
    expect(short.body.data.problems).toEqual([
      { code: 4015, message: "Balance not enough", data: { insufficient_amount: "1" } },
    ]);
    expect(await counts()).toEqual(before);
  });

  it("refuses a viewer (403 4032) and names the field of bad input", async () => {
    const shop = await f.fundedTenant("10");
    const viewer = await member(shop, "viewer");
    const admin = await member(shop, "admin");
    for (const [method, rest, body] of [
      ["POST", "/withdrawals", withdrawal("1")],
      ["POST", "/withdrawals/preview", withdrawal("1")],
      ["PATCH", "/limits", { max_transfer_amount: "1" }],
    ] as const) {
      const res = await viewer.request(method, path(shop, rest), { body });
      expect([rest, res.status, res.body.code]).toEqual([rest, 403, 4032]);
    }
    expect((await viewer.request("GET", path(shop, "/withdrawals"))).status).toBe(200);
    expect((await viewer.request("GET", path(shop, "/limits"))).status).toBe(200);

    const cases: [Record<string, unknown>, string][] = [
      [{ ...withdrawal("1"), token: "DAI" }, "token"],
      [{ ...withdrawal("1"), token: recipient() }, "token"],
      [{ ...withdrawal("1"), to_address: "0x123" }, "to_address"],
      [{ ...withdrawal("1"), amount: "1e3" }, "amount"],
      [{ ...withdrawal("1"), amount: 1 }, "amount"],
      [{ ...withdrawal("1"), chain_id: "nope" }, "chain_id"],
      [{ ...withdrawal("1"), idempotency_key: undefined }, "idempotency_key"],
      [{ ...withdrawal("1"), idempotency_key: "has space" }, "idempotency_key"],
    ];
    for (const [body, field] of cases) {
      const res = await admin.request("POST", path(shop, "/withdrawals"), { body });
      expect([field, res.status, res.body.code, res.body.data?.field]).toEqual([
        field,
        400,
        4000,
        field,
      ]);
    }
    const badLimit = await admin.request("PATCH", path(shop, "/limits"), {
      body: { daily_transfer_cap: "lots" },
    });
    expect([badLimit.status, badLimit.body.data?.field]).toEqual([400, "daily_transfer_cap"]);
    const badStatus = await admin.request("GET", path(shop, "/withdrawals?status=done"));
    expect([badStatus.status, badStatus.body.data?.field]).toEqual([400, "status"]);

    // Documented in the OpenAPI document, under the features' admin tags.
    const doc = (await (await fetch(`${f.gateway.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { tags: string[] }>>;
    };
    const tagOf = (p: string, method: string) => doc.paths[p]?.[method]?.tags;
    const org = "/v1/admin/orgs/{orgId}";
    expect(tagOf(`${org}/withdrawals`, "post")).toEqual(["Admin: Withdrawals"]);
    expect(tagOf(`${org}/withdrawals/{id}/approve`, "post")).toEqual(["Admin: Withdrawals"]);
    expect(tagOf(`${org}/withdrawals/preview`, "post")).toEqual(["Admin: Withdrawals"]);
    expect(tagOf(`${org}/limits`, "patch")).toEqual(["Admin: Limits"]);
    expect(tagOf(`${org}/treasury/address`, "put")).toEqual(["Admin: Treasury"]);
  });
});

describe("treasury", () => {
  it("shows the hot wallet and collections; the address change needs the owner and a right TOTP code", async () => {
    const shop = await f.fundedTenant("7");
    const viewer = await member(shop, "viewer");
    const admin = await member(shop, "admin");
    const owner = await member(shop, "owner", { totp: true });
    const view = await viewer.request("GET", path(shop, "/treasury"));
    expect(view.status).toBe(200);
    expect(view.body.data).toMatchObject({
      treasury_address: null,
      fee_bps: 0,
      collections: { items: [], total_count: 0, page_number: 1, page_size: 10 },
    });
    const local = view.body.data.hot_wallets.find(
      (w: { chain_id: string }) => w.chain_id === CHAIN,
    );
    expect(local).toMatchObject({
      address: shop.hot,
      native_balance: "1",
      balances: [expect.objectContaining({ symbol: "USDT", balance: "7", in_flight: "0" })],
    });

    // A collection as the treasury worker records it (its own tests make real ones on chain).
    const created = await f.call<{ payment_intent_id: string; payment_address: string }>(
      "POST",
      "/v1/studio/api/payment/intent",
      { apiKey: shop.apiKey, body: { fiat_amount: "10", fiat_currency: "USD" } },
    );
    const intentId = created.data.payment_intent_id;
    await f.gateway.database.db
      .insertInto("collections")
      .values({
        payment_intent_id: intentId,
        chain_id: CHAIN,
        token_address: f.token,
        from_address: created.data.payment_address,
        treasury_address: recipient(),
        fee_address: recipient(),
        amount: units("9.9"),
        fee: units("0.1"),
        chain_tx_id: null,
        fee_chain_tx_id: null,
        state: "confirmed",
        error: null,
      })
      .execute();
    const withCollection = await viewer.request("GET", path(shop, "/treasury?page_size=5"));
    expect(withCollection.body.data.collections).toMatchObject({
      total_count: 1,
      page_size: 5,
      items: [
        {
          payment_intent_id: intentId,
          symbol: "USDT",
          amount: "9.9",
          fee: "0.1",
          state: "confirmed",
          tx_hash: null,
          explorer_url: null,
        },
      ],
    });

    const address = getAddress(recipient());
    const byAdmin = await admin.request("PUT", path(shop, "/treasury/address"), {
      body: { address, totp_code: "123456" },
    });
    expect([byAdmin.status, byAdmin.body.code]).toEqual([403, 4032]);
    const wrong = await owner.request("PUT", path(shop, "/treasury/address"), {
      body: { address, totp_code: "000000" },
    });
    expect([wrong.status, wrong.body.code]).toEqual([403, 4037]);
    const missing = await owner.request("PUT", path(shop, "/treasury/address"), {
      body: { address },
    });
    expect([missing.status, missing.body.code]).toEqual([403, 4037]);
    const bad = await owner.request("PUT", path(shop, "/treasury/address"), {
      body: { address: "0xnope", totp_code: owner.totp?.generate() },
    });
    expect([bad.status, bad.body.data?.field]).toEqual([400, "address"]);
    const bare = await member(shop, "owner");
    const noFactor = await bare.request("PUT", path(shop, "/treasury/address"), {
      body: { address, totp_code: "123456" },
    });
    expect([noFactor.status, noFactor.body.code]).toEqual([403, 4036]);

    const done = await owner.request("PUT", path(shop, "/treasury/address"), {
      body: { address, totp_code: owner.totp?.generate() },
    });
    expect(done.status).toBe(200);
    expect(done.body.data.treasury_address).toBe(address);
    expect((await viewer.request("GET", path(shop, "/treasury"))).body.data.treasury_address).toBe(
      address,
    );
    const audit = await auditActions(shop);
    expect(audit).toEqual([
      expect.objectContaining({
        action: "treasury.address_changed",
        actor: owner.user.email,
        before: { treasury_address: null },
        after: { treasury_address: address },
      }),
    ]);
  });
});
