import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestTenant } from "../testing/test-gateway.ts";
import {
  INTENT,
  type IntentFixture,
  LIST,
  type Reply,
  server,
  startIntentFixture,
} from "./intent-fixture.ts";
import { LIST_COUNT_CAP, LIST_GROUP_KEY_BRANCHES } from "./intent-list.ts";

// The list's extensions, through the HTTP API: keyset pages (cursor / next_cursor) and the
// capped count (total_count_exact). payment-intent-reads.test.ts has the KryptoGO paging.

let f: IntentFixture;
beforeAll(async () => {
  f = await startIntentFixture();
});
afterAll(() => f?.stop());

const idsOf = (r: { body: { data: { items: { payment_intent_id: string }[] } } }) =>
  r.body.data.items.map((i) => i.payment_intent_id);

async function create(t: TestTenant, body: Record<string, unknown> = {}) {
  const r = await f.call("POST", INTENT, {
    headers: server(t),
    body: { fiat_amount: "1", fiat_currency: "USD", ...body },
  });
  expect(r.status).toBe(200);
  return r.body.data.payment_intent_id as string;
}

/**
 * Every page from the first on, following next_cursor; the ids in the order they came. `during`
 * runs beside every page request after the first (beside the first, what it creates may or may
 * not make that page).
 */
async function walk(t: TestTenant, query: string, during?: () => Promise<unknown>) {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages += 1) {
    const url: string = cursor === null ? `${LIST}?${query}` : `${LIST}?${query}&cursor=${cursor}`;
    const page = f.call("GET", url, { headers: server(t) });
    const [r]: [Reply, unknown] = await Promise.all([
      page,
      cursor === null ? undefined : during?.(),
    ]);
    expect(r.status).toBe(200);
    seen.push(...idsOf(r));
    cursor = r.body.data.next_cursor;
    if (cursor === null) return seen;
  }
  throw new Error("the walk did not end");
}

describe("keyset pages (cursor)", () => {
  let t: TestTenant;
  let newestFirst: string[];

  beforeAll(async () => {
    t = await f.gateway.createTenant();
    for (let i = 0; i < 23; i += 1) {
      await create(t, { group_key: i % 3 === 0 ? `Spring-${i}` : `autumn-${i}` });
    }
    const all = await f.call("GET", `${LIST}?page_size=100`, { headers: server(t) });
    newestFirst = idsOf(all);
    expect(newestFirst).toHaveLength(23);
  });

  it("walks every intent once, newest first, while intents are being created", async () => {
    const created: string[] = [];
    // A create runs beside every page request after the first: new intents are newer than the
    // first page, so they are not in the walk, and none of them shifts what it has still to read.
    const walked = await walk(t, "page_size=4", async () => {
      created.push(await create(t, { group_key: "autumn-new" }));
    });
    expect(walked).toEqual(newestFirst);
    expect(new Set(walked).size).toBe(walked.length);
    expect(created.length).toBeGreaterThan(0);
    expect(walked.some((id) => created.includes(id))).toBe(false);
  });

  it("gives page_number pages a next_cursor that continues them, and null on the last", async () => {
    const p1 = await f.call("GET", `${LIST}?page_size=5&group_key=autumn-1`, {
      headers: server(t),
    });
    const p2 = await f.call("GET", `${LIST}?page_size=5&group_key=autumn-1&page_number=2`, {
      headers: server(t),
    });
    const byCursor = await f.call(
      "GET",
      `${LIST}?page_size=5&group_key=autumn-1&cursor=${p1.body.data.next_cursor}`,
      { headers: server(t) },
    );
    expect(idsOf(byCursor)).toEqual(idsOf(p2));
    expect(p1.body.data.total_count_exact).toBe(true);
    const last = await f.call("GET", `${LIST}?page_size=100`, { headers: server(t) });
    expect(last.body.data.next_cursor).toBeNull();
  });

  it("combines a cursor with status, client_id and group_key", async () => {
    const other = await f.gateway.createTenant();
    const theirs = await create(other, { group_key: "spring-x" });
    const query = `page_size=2&status=pending&client_id=${t.clientId}&group_key=SPRING`;
    const walked = await walk(t, query);
    const expected = (
      await f.call("GET", `${LIST}?page_size=100&status=pending&group_key=spring`, {
        headers: server(t),
      })
    ).body.data.items
      .filter((i: { group_key: string }) => i.group_key.startsWith("Spring-"))
      .map((i: { payment_intent_id: string }) => i.payment_intent_id);
    expect(walked).toEqual(expected);
    expect(walked.length).toBe(8);
    expect(walked).not.toContain(theirs);
    expect(await walk(t, `page_size=2&status=success&group_key=spring`)).toEqual([]);
  });

  it.each([
    ["cursor=not-a-cursor", "cursor"],
    [`cursor=${Buffer.from('{"a":1}').toString("base64url")}`, "cursor"],
    [`cursor=${Buffer.from('["yesterday","abc"]').toString("base64url")}`, "cursor"],
    [
      `cursor=${Buffer.from('["2026-11-28T09:00:00.000000Z","a\'b"]').toString("base64url")}`,
      "cursor",
    ],
    [`cursor=${"A".repeat(513)}`, "cursor"],
    // Dates JS reads but the database refuses: a 500 if they got through.
    [
      `cursor=${Buffer.from('["2026-02-31T00:00:00.000000Z","abc"]').toString("base64url")}`,
      "cursor",
    ],
    [
      `cursor=${Buffer.from('["0000-01-01T00:00:00.000000Z","abc"]').toString("base64url")}`,
      "cursor",
    ],
  ])("refuses %s with 400 / 4000 naming %s", async (query, field) => {
    const r = await f.call("GET", `${LIST}?${query}`, { headers: server(t) });
    expect([r.status, r.body.code]).toEqual([400, 4000]);
    expect(r.body.message).toMatch(new RegExp(`^${field}`));
  });

  it("refuses a cursor with a page_number past 1", async () => {
    const p1 = await f.call("GET", `${LIST}?page_size=5`, { headers: server(t) });
    const r = await f.call("GET", `${LIST}?page_number=2&cursor=${p1.body.data.next_cursor}`, {
      headers: server(t),
    });
    expect([r.status, r.body.code]).toEqual([400, 4000]);
    expect(r.body.message).toMatch(/^page_number/);
  });
});

describe("total_count above the cap", () => {
  let t: TestTenant;
  const extra = LIST_COUNT_CAP + 40;

  beforeAll(async () => {
    t = await f.gateway.createTenant();
    const client = t.clientId;
    // Inserted in one statement: ten thousand creates over HTTP would take minutes.
    await sql`
      insert into payment_intents (id, org_id, client_id, payment_chain_id, payment_address,
        deposit_index, token_address, symbol, decimals, crypto_amount, fiat_amount, fiat_currency,
        rate, rate_source, payment_deadline, status, group_key, created_at, updated_at)
      select 'Cap' || lpad(g::text, 29, '0'), ${t.orgId}, ${client}, 'arb',
        '0xcafe' || lpad(to_hex(g), 36, '0'), 900000000 + g,
        '0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9', 'USDT', 6, 1000000, '1', 'USD', '1', 'static',
        now() + interval '30 minutes',
        case when g % 100 = 0 then 'success' else 'pending' end,
        case when g % 400 = 0 then 'rare-' || g end,
        now() - g * interval '1 second', now()
      from generate_series(1, ${extra}::int) as g`.execute(f.gateway.database.db);
    await sql`analyze payment_intents`.execute(f.gateway.database.db);
  });

  it("is exact, and says so, up to the cap", async () => {
    const r = await f.call("GET", `${LIST}?status=success`, { headers: server(t) });
    expect(r.body.data).toMatchObject({
      total_count: Math.floor(extra / 100),
      total_count_exact: true,
    });
    // 25 distinct keys contain "rare-": more than the list reads key by key, so this is the
    // trigram path; "rare-2" (rare-2000, rare-2400, rare-2800) is the key-by-key one.
    expect(LIST_GROUP_KEY_BRANCHES).toBeLessThan(25);
    const rare = await f.call("GET", `${LIST}?group_key=RARE-`, { headers: server(t) });
    expect(rare.body.data).toMatchObject({ total_count: 25, total_count_exact: true });
    const walked = await walk(t, "page_size=7&group_key=RARE-");
    expect(walked).toEqual(
      Array.from({ length: 25 }, (_, i) => `Cap${String((i + 1) * 400).padStart(29, "0")}`),
    );
    const second = await f.call("GET", `${LIST}?page_size=1&page_number=2&group_key=rare-2`, {
      headers: server(t),
    });
    expect(idsOf(second)).toEqual([`Cap${String(2400).padStart(29, "0")}`]);
    const few = await walk(t, "page_size=2&group_key=rare-2");
    expect(few).toEqual([2000, 2400, 2800].map((g) => `Cap${String(g).padStart(29, "0")}`));
  });

  it("is an estimate above the cap, never below what exists past it", async () => {
    const r = await f.call("GET", LIST, { headers: server(t) });
    expect(r.status).toBe(200);
    expect(r.body.data.total_count_exact).toBe(false);
    expect(r.body.data.total_count).toBeGreaterThan(LIST_COUNT_CAP);
    expect(r.body.data.items).toHaveLength(10);
    // A page_number past the cap still answers its page, and the total covers it.
    const deep = await f.call("GET", `${LIST}?page_size=100&page_number=101`, {
      headers: server(t),
    });
    expect(idsOf(deep)).toHaveLength(extra - 10_000);
    expect(idsOf(deep)[0]).toBe(`Cap${String(10_001).padStart(29, "0")}`);
    expect(deep.body.data.total_count).toBeGreaterThanOrEqual(extra);
    expect(deep.body.data.next_cursor).toBeNull();
    // A page past the end shows nothing, so it does not raise the total to its offset.
    const past = await f.call("GET", `${LIST}?page_size=100&page_number=1000`, {
      headers: server(t),
    });
    expect(idsOf(past)).toEqual([]);
    expect(past.body.data.total_count).toBeLessThan(99_900);
  });
});
