import { Secret, TOTP } from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createStudioUser,
  type StudioTestClient,
  signInAs,
  studioClient,
} from "../testing/studio-client.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

let gateway: TestGateway;
beforeAll(async () => {
  // Behind one trusted proxy, so each sign-in below can come from an address of its own and the
  // per-address lock is tested on purpose only.
  gateway = await startTestGateway({ env: { TRUST_PROXY: "1" } });
});
afterAll(() => gateway?.close());

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${gateway.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

let addresses = 1;

/** Signs in through the route; the client it gives uses the cookie and CSRF token it set. */
async function signIn(
  email: string,
  password: string,
  extra: Record<string, unknown> = {},
  ip = `10.${addresses >> 16}.${(addresses >> 8) & 255}.${addresses++ & 255}`,
): Promise<{ status: number; body: any; headers: Headers; client?: StudioTestClient }> {
  const res = await post(
    "/v1/admin/session",
    { email, password, ...extra },
    { "x-forwarded-for": ip },
  );
  if (res.status !== 200) return res;
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] as string;
  const client = studioClient(gateway, cookie, res.body.data.csrf_token as string);
  return { ...res, client };
}

const codeAt = (secret: string, timestamp: number) =>
  new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp });

describe("signing in", () => {
  it("answers a wrong password and an unknown email alike, and a right one with a session cookie", async () => {
    const tenant = await gateway.createTenant({ name: "Sign-in shop" });
    const user = await createStudioUser(gateway, { orgId: tenant.orgId, role: "admin" });
    const wrong = await signIn(user.email, "not the password at all");
    const unknown = await signIn(`nobody-${Date.now()}@example.com`, "not the password at all");
    expect([wrong.status, wrong.body]).toEqual([
      401,
      { code: 4034, message: "email or password is wrong" },
    ]);
    expect([unknown.status, unknown.body]).toEqual([wrong.status, wrong.body]);

    const right = await signIn(user.email.toUpperCase(), user.password);
    expect(right.status).toBe(200);
    const cookie = right.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^stablegate_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; Secure/);
    const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)?.[1]);
    expect(maxAge).toBeGreaterThan(12 * 3600 - 60);
    expect(maxAge).toBeLessThanOrEqual(12 * 3600);
    expect(right.body.data.memberships).toEqual([
      expect.objectContaining({ org_id: tenant.orgId, role: "admin" }),
    ]);
    const me = await right.client?.request("GET", "/v1/admin/session");
    expect(me?.body.data.user.email).toBe(user.email);
  });

  it("locks an email after 5 failures: a right password is then refused with 429 and Retry-After", async () => {
    const user = await createStudioUser(gateway, {});
    for (let i = 0; i < 5; i++) {
      expect((await signIn(user.email, "wrong password!!", {}, "198.51.100.7")).status).toBe(401);
    }
    const locked = await signIn(user.email, user.password, {}, "198.51.100.8");
    expect([locked.status, locked.body.code]).toEqual([429, 4029]);
    const retryAfter = Number(locked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
  });

  it("locks an address after 20 failures, whatever the emails", async () => {
    const user = await createStudioUser(gateway, {});
    const spray = "192.0.2.66";
    for (let i = 0; i < 20; i++) {
      const res = await signIn(`spray${i}-${Date.now()}@example.com`, "guess", {}, spray);
      expect(res.status).toBe(401);
    }
    const locked = await signIn(user.email, user.password, {}, spray);
    expect([locked.status, locked.body.code]).toEqual([429, 4029]);
    expect((await signIn(user.email, user.password, {}, "192.0.2.67")).status).toBe(200);
  });
});

describe("signing out", () => {
  it("ends the session on sign out, and every session on sign out everywhere", async () => {
    const user = await createStudioUser(gateway, {});
    const a = (await signIn(user.email, user.password)).client as StudioTestClient;
    const b = (await signIn(user.email, user.password)).client as StudioTestClient;
    const c = (await signIn(user.email, user.password)).client as StudioTestClient;

    const out = await a.request("DELETE", "/v1/admin/session");
    expect(out.status).toBe(200);
    expect(out.headers.get("set-cookie")).toMatch(/stablegate_session=;.*Max-Age=0/);
    expect((await a.request("GET", "/v1/admin/session")).status).toBe(401);
    expect((await b.request("GET", "/v1/admin/session")).status).toBe(200);

    const all = await b.request("POST", "/v1/admin/session/revoke-all");
    expect([all.status, all.body.data.ended_sessions]).toEqual([200, 2]);
    expect((await b.request("GET", "/v1/admin/session")).body.code).toBe(4031);
    expect((await c.request("GET", "/v1/admin/session")).body.code).toBe(4031);
  });

  it("ends a session idle too long, and one past its absolute expiry", async () => {
    const idle = await signInAs(gateway, {});
    const old = await signInAs(gateway, {});
    const db = gateway.database.db;
    const sessionOf = async (client: StudioTestClient) =>
      (await client.request("GET", "/v1/admin/session")).status;
    expect([await sessionOf(idle), await sessionOf(old)]).toEqual([200, 200]);
    // The default idle timeout is 30 minutes, the absolute one 12 hours.
    await db
      .updateTable("studio_sessions")
      .set({ last_seen_at: new Date(Date.now() - 31 * 60_000) })
      .where("user_id", "=", idle.user.userId)
      .execute();
    await db
      .updateTable("studio_sessions")
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where("user_id", "=", old.user.userId)
      .execute();
    expect([await sessionOf(idle), await sessionOf(old)]).toEqual([401, 401]);
  });
});

describe("the CSRF guard", () => {
  it("refuses a change without X-CSRF-Token, with a wrong one, and one sent cross-site", async () => {
    const user = await signInAs(gateway, {});
    const none = await user.request("POST", "/v1/admin/session/revoke-all", { csrf: false });
    expect([none.status, none.body.code]).toEqual([403, 4033]);
    const wrong = await user.request("POST", "/v1/admin/session/revoke-all", {
      csrf: false,
      headers: { "x-csrf-token": "forged" },
    });
    expect([wrong.status, wrong.body.code]).toEqual([403, 4033]);
    const crossSite = await user.request("POST", "/v1/admin/session/revoke-all", {
      headers: { "sec-fetch-site": "cross-site" },
    });
    expect([crossSite.status, crossSite.body.code]).toEqual([403, 4033]);
    expect((await user.request("GET", "/v1/admin/session")).status).toBe(200);
  });
});

describe("password change", () => {
  it("needs the current password and 12 characters, and ends the other sessions", async () => {
    const user = await createStudioUser(gateway, {});
    const here = (await signIn(user.email, user.password)).client as StudioTestClient;
    const elsewhere = (await signIn(user.email, user.password)).client as StudioTestClient;
    const short = await here.request("POST", "/v1/admin/me/password", {
      body: { current_password: user.password, new_password: "too short" },
    });
    expect([short.status, short.body.code, short.body.data.field]).toEqual([
      400,
      4000,
      "new_password",
    ]);
    const wrong = await here.request("POST", "/v1/admin/me/password", {
      body: { current_password: "not it at all", new_password: "a much longer password" },
    });
    expect([wrong.status, wrong.body.code]).toEqual([403, 4034]);
    const changed = await here.request("POST", "/v1/admin/me/password", {
      body: { current_password: user.password, new_password: "a much longer password" },
    });
    expect(changed.status).toBe(200);
    expect((await here.request("GET", "/v1/admin/session")).status).toBe(200);
    expect((await elsewhere.request("GET", "/v1/admin/session")).status).toBe(401);
    expect((await signIn(user.email, user.password)).status).toBe(401);
    expect((await signIn(user.email, "a much longer password")).status).toBe(200);
    const audit = await gateway.database.db
      .selectFrom("audit_log")
      .select(["action", "before", "after"])
      .where("actor_user_id", "=", user.userId)
      .execute();
    expect(audit).toEqual([{ action: "user.password_changed", before: null, after: null }]);
  });
});

describe("two-factor authentication", () => {
  it("sets TOTP up pending, confirms it, then asks for a code at sign-in and refuses a reused one", async () => {
    const user = await createStudioUser(gateway, {});
    const client = (await signIn(user.email, user.password)).client as StudioTestClient;
    const begun = await client.request("POST", "/v1/admin/me/totp");
    expect(begun.status).toBe(200);
    const secret = begun.body.data.secret as string;
    expect(begun.body.data.otpauth_url).toMatch(/^otpauth:\/\/totp\/Stablegate:/);
    // Pending: signing in does not ask for a code yet.
    expect((await signIn(user.email, user.password)).status).toBe(200);

    const wrongConfirm = await client.request("POST", "/v1/admin/me/totp/confirm", {
      body: { code: "000000" === codeAt(secret, Date.now()) ? "111111" : "000000" },
    });
    expect([wrongConfirm.status, wrongConfirm.body.code]).toEqual([403, 4037]);
    // Codes of three steps are used below (the last, this one, the next: the ±1 the gateway
    // accepts); start at least 10 s before a step ends so the server's step is the same, even
    // on a loaded machine.
    while (Date.now() % 30_000 > 20_000) await new Promise((r) => setTimeout(r, 250));
    const now = Date.now();
    const confirmed = await client.request("POST", "/v1/admin/me/totp/confirm", {
      body: { code: codeAt(secret, now - 30_000) },
    });
    expect(confirmed.status).toBe(200);

    const missing = await signIn(user.email, user.password);
    expect([missing.status, missing.body.code, missing.body.data?.totp_required]).toEqual([
      401,
      4035,
      true,
    ]);
    // The code just used to confirm is spent; the next step's code (within ±1) is good once.
    const reused = await signIn(user.email, user.password, {
      totp_code: codeAt(secret, now - 30_000),
    });
    expect([reused.status, reused.body.code]).toEqual([401, 4034]);
    const next = codeAt(secret, now);
    expect((await signIn(user.email, user.password, { totp_code: next })).status).toBe(200);
    expect((await signIn(user.email, user.password, { totp_code: next })).status).toBe(401);

    const me = await client.request("GET", "/v1/admin/session");
    expect(me.body.data.user.totp_enabled).toBe(true);
    const off = await client.request("DELETE", "/v1/admin/me/totp", {
      body: { code: codeAt(secret, now + 30_000) },
    });
    expect(off.status).toBe(200);
    expect((await signIn(user.email, user.password)).status).toBe(200);
  });
});
