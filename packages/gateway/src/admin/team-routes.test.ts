import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStudioUser, signInAs } from "../testing/studio-client.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(() => gateway?.close());

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${gateway.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe("team", () => {
  it("lists members to a viewer, refuses the viewer's forged role change, hides other organisations", async () => {
    const tenant = await gateway.createTenant({ name: "Team shop" });
    const other = await gateway.createTenant({ name: "Someone else's shop" });
    const owner = await signInAs(gateway, { orgId: tenant.orgId, role: "owner" });
    const viewer = await signInAs(gateway, { orgId: tenant.orgId, role: "viewer" });

    const members = await viewer.request("GET", `/v1/admin/orgs/${tenant.orgId}/members`);
    expect(members.status).toBe(200);
    expect(members.body.data).toEqual([
      expect.objectContaining({ user_id: owner.user.userId, role: "owner", totp_enabled: false }),
      expect.objectContaining({ user_id: viewer.user.userId, role: "viewer" }),
    ]);
    const forged = await viewer.request(
      "PATCH",
      `/v1/admin/orgs/${tenant.orgId}/members/${viewer.user.userId}`,
      { body: { role: "owner" } },
    );
    expect([forged.status, forged.body.code]).toEqual([403, 4032]);
    const elsewhere = await owner.request("GET", `/v1/admin/orgs/${other.orgId}/members`);
    expect([elsewhere.status, elsewhere.body.code]).toEqual([404, 4004]);

    const promoted = await owner.request(
      "PATCH",
      `/v1/admin/orgs/${tenant.orgId}/members/${viewer.user.userId}`,
      { body: { role: "developer" } },
    );
    expect(promoted.status).toBe(200);
    const bad = await owner.request(
      "PATCH",
      `/v1/admin/orgs/${tenant.orgId}/members/${viewer.user.userId}`,
      { body: { role: "king" } },
    );
    expect([bad.status, bad.body.code, bad.body.data.field]).toEqual([400, 4000, "role"]);

    const audit = await owner.request("GET", `/v1/admin/orgs/${tenant.orgId}/audit`);
    expect(audit.status).toBe(200);
    expect(audit.body.data.items[0]).toEqual(
      expect.objectContaining({
        actor: owner.user.email,
        action: "member.role_changed",
        target: `user:${viewer.user.userId}`,
        before: { role: "viewer" },
        after: { role: "developer" },
      }),
    );
  });

  it("never leaves an organisation without an owner", async () => {
    const tenant = await gateway.createTenant({});
    const owner = await signInAs(gateway, { orgId: tenant.orgId, role: "owner" });
    const admin = await createStudioUser(gateway, { orgId: tenant.orgId, role: "admin" });
    const path = `/v1/admin/orgs/${tenant.orgId}/members/${owner.user.userId}`;
    const removed = await owner.request("DELETE", path);
    expect([removed.status, removed.body.code]).toEqual([409, 4038]);
    const demoted = await owner.request("PATCH", path, { body: { role: "admin" } });
    expect([demoted.status, demoted.body.code]).toEqual([409, 4038]);

    await owner.request("PATCH", `/v1/admin/orgs/${tenant.orgId}/members/${admin.userId}`, {
      body: { role: "owner" },
    });
    expect((await owner.request("PATCH", path, { body: { role: "admin" } })).status).toBe(200);
    const gone = await owner.request("GET", `/v1/admin/orgs/${tenant.orgId}/members`);
    expect([gone.status, gone.body.code]).toEqual([200, 0]);
    expect((await owner.request("DELETE", path)).status).toBe(403);
  });
});

describe("invitations", () => {
  it("invites by a one-time link that creates the account and signs in; a second use is refused", async () => {
    const tenant = await gateway.createTenant({ name: "Inviting shop" });
    const owner = await signInAs(gateway, { orgId: tenant.orgId, role: "owner" });
    const email = `new-${Date.now()}@example.com`;
    const made = await owner.request("POST", `/v1/admin/orgs/${tenant.orgId}/invitations`, {
      body: { email: email.toUpperCase(), role: "developer" },
    });
    expect(made.status).toBe(200);
    expect(made.body.data).toEqual(
      expect.objectContaining({
        email,
        role: "developer",
        url: expect.any(String),
        // No SMTP_URL: the link is only shown (invitation-mail.test.ts sends it).
        email_sent: false,
      }),
    );
    const url = new URL(made.body.data.url);
    expect(url.origin).toBe(gateway.url);
    const token = url.pathname.replace("/studio/invite/", "");
    const days = (Date.parse(made.body.data.expires_at) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7);

    const pending = await owner.request("GET", `/v1/admin/orgs/${tenant.orgId}/invitations`);
    expect(pending.body.data).toEqual([expect.objectContaining({ id: made.body.data.id, email })]);
    expect(JSON.stringify(pending.body)).not.toContain(token);

    const opened = await call("GET", `/v1/admin/invitations/${token}`);
    expect(opened.body.data).toEqual({
      org_name: "Inviting shop",
      role: "developer",
      email,
      expires_at: made.body.data.expires_at,
    });
    const short = await call("POST", `/v1/admin/invitations/${token}/accept`, {
      name: "New Person",
      password: "short",
    });
    expect([short.status, short.body.data.field]).toEqual([400, "password"]);
    const accepted = await call("POST", `/v1/admin/invitations/${token}/accept`, {
      name: "New Person",
      password: "a long enough password",
    });
    expect(accepted.status).toBe(200);
    expect(accepted.headers.get("set-cookie")).toMatch(/^stablegate_session=/);
    expect(accepted.body.data.memberships).toEqual([
      expect.objectContaining({ org_id: tenant.orgId, role: "developer" }),
    ]);
    const again = await call("POST", `/v1/admin/invitations/${token}/accept`, {
      name: "Someone",
      password: "a long enough password",
    });
    expect([again.status, again.body.code]).toEqual([404, 4039]);
    expect((await call("GET", `/v1/admin/invitations/${token}`)).body.code).toBe(4039);
    const members = await owner.request("GET", `/v1/admin/orgs/${tenant.orgId}/members`);
    expect(members.body.data.map((m: { email: string }) => m.email)).toContain(email);
  });

  it("asks an existing account for its own password, and refuses expired and revoked links", async () => {
    const tenant = await gateway.createTenant({});
    const owner = await signInAs(gateway, { orgId: tenant.orgId, role: "owner" });
    const existing = await createStudioUser(gateway, {});
    const invite = async (email: string) => {
      const res = await owner.request("POST", `/v1/admin/orgs/${tenant.orgId}/invitations`, {
        body: { email, role: "viewer" },
      });
      expect(res.status).toBe(200);
      return {
        id: res.body.data.id as string,
        token: res.body.data.url.split("/").pop() as string,
      };
    };
    const link = await invite(existing.email);
    const wrong = await call("POST", `/v1/admin/invitations/${link.token}/accept`, {
      name: "x",
      password: "not the account's password",
    });
    expect([wrong.status, wrong.body.code]).toEqual([401, 4034]);
    const right = await call("POST", `/v1/admin/invitations/${link.token}/accept`, {
      name: "x",
      password: existing.password,
    });
    expect(right.status).toBe(200);
    const twice = await owner.request("POST", `/v1/admin/orgs/${tenant.orgId}/invitations`, {
      body: { email: existing.email, role: "viewer" },
    });
    expect([twice.status, twice.body.code]).toEqual([409, 4066]);

    const expired = await invite(`late-${Date.now()}@example.com`);
    await gateway.database.db
      .updateTable("invitations")
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where("id", "=", expired.id)
      .execute();
    expect((await call("GET", `/v1/admin/invitations/${expired.token}`)).body.code).toBe(4039);
    const late = await call("POST", `/v1/admin/invitations/${expired.token}/accept`, {
      name: "Late",
      password: "a long enough password",
    });
    expect([late.status, late.body.code]).toEqual([404, 4039]);

    const revoked = await invite(`revoked-${Date.now()}@example.com`);
    const del = await owner.request(
      "DELETE",
      `/v1/admin/orgs/${tenant.orgId}/invitations/${revoked.id}`,
    );
    expect(del.status).toBe(200);
    expect((await call("GET", `/v1/admin/invitations/${revoked.token}`)).body.code).toBe(4039);
    const unknown = await call("GET", `/v1/admin/invitations/${"A".repeat(43)}`);
    expect([unknown.status, unknown.body.code]).toEqual([404, 4039]);
  });
});

describe("the audit log", () => {
  it("refuses UPDATE and DELETE", async () => {
    const tenant = await gateway.createTenant({});
    const owner = await signInAs(gateway, { orgId: tenant.orgId, role: "owner" });
    await owner.request("POST", `/v1/admin/orgs/${tenant.orgId}/invitations`, {
      body: { email: `audited-${Date.now()}@example.com`, role: "viewer" },
    });
    const db = gateway.database.db;
    const row = await db
      .selectFrom("audit_log")
      .select(["id", "action"])
      .where("org_id", "=", tenant.orgId)
      .executeTakeFirstOrThrow();
    expect(row.action).toBe("invitation.created");
    await expect(
      db.updateTable("audit_log").set({ actor: "someone else" }).where("id", "=", row.id).execute(),
    ).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom("audit_log").where("id", "=", row.id).execute()).rejects.toThrow(
      /append-only/,
    );
    const viewer = await signInAs(gateway, { orgId: tenant.orgId, role: "viewer" });
    const refused = await viewer.request("GET", `/v1/admin/orgs/${tenant.orgId}/audit`);
    expect([refused.status, refused.body.code]).toEqual([403, 4032]);
  });
});
