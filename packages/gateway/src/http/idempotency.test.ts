import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StudioTestClient, signInAs } from "../testing/studio-client.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";
import { createIdempotencyStore } from "./idempotency-store.ts";

// The generic Idempotency-Key layer, on a POST that makes something new each time it runs:
// creating a payment link in Studio. And the store under it, on its own.

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(() => gateway?.close());

let n = 0;
const freshKey = () => `generic-${process.pid}-${Date.now()}-${++n}`;
const LINK = { fiat_amount: "300", fiat_currency: "TWD", description: "Tea", reusable: false };

async function merchant() {
  const tenant = await gateway.createTenant();
  const member = await signInAs(gateway, { orgId: tenant.orgId, role: "admin" });
  return { tenant, member, links: `/v1/admin/orgs/${tenant.orgId}/payment-links` };
}

const post = (member: StudioTestClient, path: string, key: string, body: unknown) =>
  member.request("POST", path, { body, headers: { "Idempotency-Key": key } });

async function linkCount(orgId: number): Promise<number> {
  const row = await gateway.database.db
    .selectFrom("payment_links")
    .select((eb) => eb.fn.countAll<string>().as("n"))
    .where("org_id", "=", orgId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe("Idempotency-Key on Studio's POSTs", () => {
  it("answers a retry with the first answer, marked replayed, and runs the request once", async () => {
    const { tenant, member, links } = await merchant();
    const key = freshKey();
    const first = await post(member, links, key, LINK);
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const again = await post(member, links, key, { ...LINK });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get("content-type")).toMatch(/^application\/json/);
    expect(again.text).toBe(first.text);
    expect(await linkCount(tenant.orgId)).toBe(1);
    // Without the header, the same request makes another link.
    const plain = await member.request("POST", links, { body: LINK });
    expect(plain.status).toBe(200);
    expect(plain.body.data.id).not.toBe(first.body.data.id);
    expect(await linkCount(tenant.orgId)).toBe(2);
  });

  it("refuses the same key with another body or on another path: 409 / 4018", async () => {
    const { tenant, member, links } = await merchant();
    const key = freshKey();
    expect((await post(member, links, key, LINK)).status).toBe(200);
    const changed = await post(member, links, key, { ...LINK, fiat_amount: "301" });
    expect(changed.status).toBe(409);
    expect(changed.body.code).toBe(4018);
    expect(changed.body.message).toContain("a request with a different body");
    const elsewhere = await member.request("POST", `/v1/admin/session/revoke-all`, {
      headers: { "Idempotency-Key": key },
    });
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body.code).toBe(4018);
    expect(elsewhere.body.message).toContain(`POST ${links}`);
    expect(await linkCount(tenant.orgId)).toBe(1);
  });

  it("keeps each user's keys apart", async () => {
    const { tenant, member, links } = await merchant();
    const colleague = await signInAs(gateway, { orgId: tenant.orgId, role: "admin" });
    const key = freshKey();
    const mine = await post(member, links, key, LINK);
    const theirs = await post(colleague, links, key, { ...LINK, fiat_amount: "5" });
    expect(mine.status).toBe(200);
    expect(theirs.status).toBe(200);
    expect(theirs.body.data.id).not.toBe(mine.body.data.id);
    expect(await linkCount(tenant.orgId)).toBe(2);
  });

  it("lets a key go when its request failed, so the corrected request can use it", async () => {
    const { tenant, member, links } = await merchant();
    const key = freshKey();
    const bad = await post(member, links, key, { ...LINK, fiat_currency: "XXX" });
    expect(bad.status).toBe(400);
    const good = await post(member, links, key, LINK);
    expect(good.status, good.text).toBe(200);
    expect(good.headers.get("idempotent-replayed")).toBeNull();
    expect(await linkCount(tenant.orgId)).toBe(1);
  });

  it("answers 409 / 4090 with Retry-After while the first request runs, and takes over a dead one's key", async () => {
    const { tenant, member, links } = await merchant();
    const key = freshKey();
    const store = createIdempotencyStore({ db: gateway.database.db });
    // The first request as a process would leave it mid-way: claimed, no answer yet.
    const hashOf = await post(member, links, `probe-${key}`, LINK); // a real request's hash
    expect(hashOf.status).toBe(200);
    const probe = await gateway.database.db
      .selectFrom("idempotency_keys")
      .selectAll()
      .where("key", "=", `probe-${key}`)
      .executeTakeFirstOrThrow();
    expect(probe).toMatchObject({ scope: `user:${member.user.userId}`, state: "done" });
    const claim = await store.claim({
      scope: probe.scope,
      key,
      method: "POST",
      path: links,
      requestHash: probe.request_hash,
    });
    expect(claim.kind).toBe("claimed");

    const busy = await post(member, links, key, LINK);
    expect(busy.status).toBe(409);
    expect(busy.body.code).toBe(4090);
    expect(busy.headers.get("retry-after")).toBe("1");
    expect(busy.body.data).toEqual({ retry_after: 1 });

    // Its claimant died (the claim ran out): the next retry runs the request.
    await gateway.database.db
      .updateTable("idempotency_keys")
      .set({ locked_until: new Date(Date.now() - 1000) })
      .where("scope", "=", probe.scope)
      .where("key", "=", key)
      .execute();
    const retry = await post(member, links, key, LINK);
    expect(retry.status, retry.text).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
    const replay = await post(member, links, key, LINK);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body.data.id).toBe(retry.body.data.id);
    expect(await linkCount(tenant.orgId)).toBe(2); // the probe's and the retry's
  });

  it("makes one link of concurrent duplicates; the others answer it or 4090", async () => {
    const { tenant, member, links } = await merchant();
    const key = freshKey();
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => post(member, links, key, LINK)),
    );
    const ok = replies.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThan(0);
    expect(new Set(ok.map((r) => r.body.data.id)).size).toBe(1);
    for (const r of replies.filter((x) => x.status !== 200)) {
      expect(r.status).toBe(409);
      expect(r.body.code).toBe(4090);
      expect(r.headers.get("retry-after")).toBe("1");
    }
    expect(await linkCount(tenant.orgId)).toBe(1);
  });

  it("refuses a malformed key: 400 / 4000 naming the header", async () => {
    const { member, links } = await merchant();
    const r = await post(member, links, "with space", LINK);
    expect(r.status).toBe(400);
    expect(r.body.code).toBe(4000);
    expect(r.body.message).toMatch(/^Idempotency-Key: /);
  });
});

describe("the idempotency store", () => {
  const request = (scope: string, key: string, hash = "h1") => ({
    scope,
    key,
    method: "POST",
    path: "/v1/x",
    requestHash: hash,
  });

  it("keeps scopes apart, replays a finished key, and refuses it for another request", async () => {
    const store = createIdempotencyStore({ db: gateway.database.db });
    const key = freshKey();
    expect((await store.claim(request("org:1", key))).kind).toBe("claimed");
    expect((await store.claim(request("org:2", key))).kind).toBe("claimed");
    expect((await store.claim(request("org:1", key))).kind).toBe("in_use");
    await store.finish(request("org:1", key), {
      status: 200,
      contentType: "application/json",
      body: '{"code":0}',
    });
    expect(await store.claim(request("org:1", key))).toEqual({
      kind: "replay",
      response: { status: 200, contentType: "application/json", body: '{"code":0}' },
    });
    expect(await store.claim(request("org:1", key, "h2"))).toEqual({
      kind: "mismatch",
      method: "POST",
      path: "/v1/x",
    });
    await store.release(request("org:2", key));
    expect((await store.claim(request("org:2", key, "h2"))).kind).toBe("claimed");
  });

  it("deletes expired keys on write, and a key is new again after 24 hours", async () => {
    const key = freshKey();
    const old = createIdempotencyStore({
      db: gateway.database.db,
      now: () => new Date(Date.now() - 25 * 3600 * 1000),
    });
    expect((await old.claim(request("org:1", key))).kind).toBe("claimed");
    await old.finish(request("org:1", key), { status: 200, contentType: null, body: "first" });
    const store = createIdempotencyStore({ db: gateway.database.db });
    expect((await store.claim(request("org:9", freshKey()))).kind).toBe("claimed");
    const left = await gateway.database.db
      .selectFrom("idempotency_keys")
      .select("key")
      .where("key", "=", key)
      .execute();
    expect(left).toEqual([]);
    expect((await store.claim(request("org:1", key, "h2"))).kind).toBe("claimed");
  });
});

describe("the OpenAPI document", () => {
  it("names the Idempotency-Key header on each POST that takes it", async () => {
    const doc = await fetch(`${gateway.url}/openapi.json`).then((r) => r.json());
    expect(doc.components.parameters.IdempotencyKey).toMatchObject({
      name: "Idempotency-Key",
      in: "header",
      required: false,
    });
    const ref = { $ref: "#/components/parameters/IdempotencyKey" };
    const posts = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(
      ([path, item]) => (item.post ? [[path, item.post] as const] : []),
    );
    expect(posts.length).toBeGreaterThan(10);
    for (const [path, op] of posts) {
      const parameters: unknown[] = op.parameters ?? [];
      const isPublic = Array.isArray(op.security) && op.security.length === 0;
      if (isPublic) {
        // Signing in, accepting an invitation, the payer's checkout: no caller, no key.
        expect(parameters, path).not.toContainEqual(ref);
      } else if (
        path === "/v1/studio/api/asset_pro/transfer" ||
        path === "/v1/studio/api/payment/intent/{id}/refund" ||
        path === "/v1/admin/orgs/{orgId}/payments/{id}/refunds"
      ) {
        // These keep the key on their own rows and describe the header themselves.
        expect(parameters, path).toContainEqual(
          expect.objectContaining({ name: "idempotency-key", in: "header" }),
        );
      } else {
        expect(parameters, path).toContainEqual(ref);
        expect(op.responses["409"].description, path).toContain("4090");
      }
    }
  });
});
