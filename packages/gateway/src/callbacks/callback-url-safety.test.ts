import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  api,
  attemptsReach,
  type CallbackFixture,
  events,
  INTENT,
  key,
  startCallbackFixture,
  stateReaches,
  WAIT,
} from "./callback-fixture.ts";
import { enqueueStatusCallback } from "./outbox.ts";

// The callback URL cannot be turned against the gateway's own network, at creation or at
// delivery, and a receiver cannot make the dispatcher read or wait without bound.

let f: CallbackFixture;
beforeAll(async () => {
  f = await startCallbackFixture();
});
afterEach(() => f.reset());
afterAll(() => f?.stop());

describe("callback URL safety", () => {
  it("refuses, at creation, callback URLs that lead to loopback, private, link-local or metadata addresses", async () => {
    const gw = await f.gateway({ env: { CALLBACK_ALLOWED_NETWORKS: "" } });
    const shop = await gw.createTenant();
    for (const url of [
      "http://127.0.0.1:8080/cb",
      "http://localhost/cb",
      "http://[::1]/cb",
      "http://10.1.2.3/cb",
      "http://192.168.0.10/cb",
      "http://169.254.169.254/latest/meta-data/",
      "http://100.100.100.200/",
      "http://[::ffff:127.0.0.1]/cb",
      "http://[fd00:ec2::254]/",
      // IPv6 spellings that carry an IPv4 address: compatible, NAT64, 6to4; and a documentation
      // range (TEST-NET-1) that no real receiver uses.
      "http://[::127.0.0.1]/cb",
      "http://[64:ff9b::7f00:1]/cb",
      "http://[2002:7f00:1::]/cb",
      "http://192.0.2.1/cb",
    ]) {
      const r = await api(gw, "POST", INTENT, key(shop), {
        fiat_amount: "1",
        fiat_currency: "USD",
        callback_url: url,
      });
      expect(r.status, url).toBe(400);
      expect(r.body.code).toBe(4000);
      expect(r.body.message).toMatch(
        /^callback_url: .* private, loopback, link-local, metadata or reserved address/,
      );
    }
    const ftp = await api(gw, "POST", INTENT, key(shop), {
      fiat_amount: "1",
      fiat_currency: "USD",
      callback_url: "ftp://example.com/x",
    });
    expect(ftp.body).toMatchObject({ code: 4000, message: expect.stringMatching(/^callback_url/) });
  });

  it("checks again at delivery: a host that now resolves to a private address is refused", async () => {
    let answer = "93.184.216.34";
    const gw = await f.gateway({
      env: { CALLBACK_ALLOWED_NETWORKS: "" },
      resolve: async () => [{ address: answer, family: 4 }],
    });
    const shop = await gw.createTenant();
    const id = await f.createIntent(gw, shop, {
      callback_url: `http://merchant.example:${f.receiver.port}/callback`,
    });
    answer = "127.0.0.1";
    const event = await stateReaches(gw, shop, id, "failed");
    expect(event.last_error).toMatch(/^refused: merchant.example resolves to 127.0.0.1/);
    expect(f.receiver.received).toHaveLength(0);
  });

  it("never sends on a kept-alive connection to a host whose check now fails", async () => {
    let answer = "127.0.0.1";
    const gw = await f.gateway({
      // Intents that do not expire during the test: their events are written here, when wanted.
      env: { CALLBACK_ALLOWED_NETWORKS: "127.0.0.1/32", PAYMENT_TTL_SECONDS: "3600" },
      resolve: async () => [{ address: answer, family: 4 }],
    });
    const shop = await gw.createTenant();
    const id = await f.createIntent(gw, shop, { callback_url: null });
    const callback = async () =>
      gw.database.db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom("payment_intents")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        const url = `http://merchant.example:${f.receiver.port}/callback`;
        return enqueueStatusCallback(trx, { ...row, callback_url: url }, f.clock());
      });
    await callback();
    await stateReaches(gw, shop, id, "delivered");
    // The dispatcher now holds a kept-alive connection for merchant.example, to 127.0.0.1.
    answer = "10.0.0.1";
    const second = await callback();
    const event = await vi.waitFor(async () => {
      const e = (await events(gw, shop, id)).find((x) => x.event_id === second);
      expect(e?.state).toBe("failed");
      return e;
    }, WAIT);
    expect(event.last_error).toMatch(/^refused: merchant.example resolves to 10.0.0.1/);
    expect(f.receiver.received).toHaveLength(1);
  });

  it("records an answer holding NUL bytes (as U+FFFD) with the attempts recorded beside it", async () => {
    const gw = await f.gateway();
    const shop = await gw.createTenant();
    f.receiver.respondWith((r) => ({
      status: 200,
      body: r.body.group_key === "nul" ? "ok\0done" : "ok",
    }));
    const ids = await Promise.all([
      f.createIntent(gw, shop, { group_key: "nul" }),
      f.createIntent(gw, shop),
      f.createIntent(gw, shop),
    ]);
    const [nul, ...others] = await Promise.all(
      ids.map((id) => stateReaches(gw, shop, id, "delivered")),
    );
    expect(nul.attempts[0].response_excerpt).toBe("ok\uFFFDdone");
    for (const e of others) expect(e.attempts[0].response_excerpt).toBe("ok");
  });

  it("reads at most 4 KB of an answer and gives up on a receiver that does not answer in time", async () => {
    // 3 s: the big answer must be read (its first 4 KB) within it on a loaded machine too,
    // where 0.3 s was overrun; the hanging receiver costs the test that long.
    const gw = await f.gateway({ env: { CALLBACK_TIMEOUT_MS: "3000" } });
    const shop = await gw.createTenant();
    f.receiver.respondWith((r) =>
      r.body.group_key === "slow" ? "hang" : { status: 200, body: "x".repeat(1_000_000) },
    );
    const big = await f.createIntent(gw, shop);
    const slow = await f.createIntent(gw, shop, { group_key: "slow" });
    const a = await attemptsReach(gw, shop, big, 1);
    expect(a.state).toBe("delivered");
    expect(a.attempts[0].response_excerpt).toHaveLength(4096);
    const b = await attemptsReach(gw, shop, slow, 1);
    expect(b.attempts[0]).toMatchObject({ outcome: "retry", error: "no answer within 3 s" });
  });
});
