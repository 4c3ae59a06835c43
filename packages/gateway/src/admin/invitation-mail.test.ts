import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { signInAs } from "../testing/studio-client.ts";
import { startTestGateway, type TestGateway } from "../testing/test-gateway.ts";

// Invitation links by email: the gateway configured with SMTP_URL against a real SMTP server
// (smtp-server, in this process), whose received messages the tests read.

interface Received {
  from: string;
  to: string[];
  /** The message as sent, with quoted-printable's soft line breaks joined. */
  text: string;
}

/** Mail to this address is refused at RCPT, as a mail server refuses an unknown mailbox. */
const REFUSED = "refused@example.com";

const received: Received[] = [];
let smtp: SMTPServer;
let gateway: TestGateway;

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address === REFUSED)
        return callback(Object.assign(new Error("mailbox unavailable"), { responseCode: 550 }));
      callback();
    },
    onData(stream, session, callback) {
      let raw = "";
      stream.on("data", (chunk: Buffer) => {
        raw += chunk.toString("utf8");
      });
      stream.on("end", () => {
        received.push({
          from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          text: raw.replace(/=\r\n/g, ""),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  const { port } = smtp.server.address() as AddressInfo;
  gateway = await startTestGateway({
    env: {
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      SMTP_FROM: "Stablegate <no-reply@shop.example>",
    },
  });
});
afterAll(async () => {
  await gateway?.close();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

/** The message received for `to`, waiting for it to arrive. */
const mailTo = (to: string) =>
  vi.waitFor(
    () => {
      const mail = received.find((m) => m.to.includes(to));
      if (!mail) throw new Error(`no mail to ${to} yet`);
      return mail;
    },
    { timeout: 30_000, interval: 50 },
  );

describe("invitations by email", () => {
  it("emails an owner's invitation with its link, which opens the invitation", async () => {
    const tenant = await gateway.createTenant({ name: "Mailing shop" });
    const owner = await signInAs(gateway, { orgId: tenant.orgId, role: "owner" });
    const email = `dev-${Date.now()}@example.com`;
    const made = await owner.request("POST", `/v1/admin/orgs/${tenant.orgId}/invitations`, {
      body: { email, role: "developer" },
    });
    expect(made.status).toBe(200);
    expect(made.body.data).toMatchObject({ email, role: "developer", email_sent: true });

    const mail = await mailTo(email);
    expect(mail.from).toBe("no-reply@shop.example");
    expect(mail.to).toEqual([email]);
    expect(mail.text).toMatch(/^From: Stablegate <no-reply@shop\.example>\r$/m);
    expect(mail.text).toMatch(/^Subject: You are invited to Mailing shop on Stablegate\r$/m);
    expect(mail.text).toContain(
      `${owner.user.email} invited you to join Mailing shop on Stablegate as developer.`,
    );
    // The link in the mail is the one the owner was shown, and it opens the invitation.
    expect(mail.text).toContain(made.body.data.url);
    const token = new URL(made.body.data.url).pathname.replace("/studio/invite/", "");
    const opened = await fetch(`${gateway.url}/v1/admin/invitations/${token}`);
    expect(opened.status).toBe(200);
    expect(((await opened.json()) as any).data).toMatchObject({
      org_name: "Mailing shop",
      role: "developer",
      email,
    });
  });

  it("still makes the invitation, and says the mail was not sent, when the server refuses it", async () => {
    const tenant = await gateway.createTenant({ name: "Bouncing shop" });
    const owner = await signInAs(gateway, { orgId: tenant.orgId, role: "owner" });
    const made = await owner.request("POST", `/v1/admin/orgs/${tenant.orgId}/invitations`, {
      body: { email: REFUSED, role: "viewer" },
    });
    expect(made.status).toBe(200);
    expect(made.body.data).toMatchObject({ email: REFUSED, email_sent: false });
    expect(made.body.data.url).toMatch(/\/studio\/invite\/[A-Za-z0-9_-]{43}$/);
    const pending = await owner.request("GET", `/v1/admin/orgs/${tenant.orgId}/invitations`);
    expect(pending.body.data).toEqual([expect.objectContaining({ email: REFUSED })]);
    expect(received.some((m) => m.to.includes(REFUSED))).toBe(false);
  });

  it("emails the first owner of an organisation an operator creates", async () => {
    const operator = await signInAs(gateway, { operator: true });
    const email = `founder-${Date.now()}@example.com`;
    const made = await operator.request("POST", "/v1/admin/operator/organizations", {
      body: {
        name: "Founded by mail",
        default_chain_id: "arb",
        default_token_symbol: "USDT",
        owner_email: email,
      },
    });
    expect(made.status).toBe(200);
    expect(made.body.data.invitation.email_sent).toBe(true);
    const mail = await mailTo(email);
    expect(mail.text).toContain(
      `${operator.user.email} invited you to join Founded by mail on Stablegate as owner.`,
    );
    expect(mail.text).toContain(made.body.data.invitation.url);
  });
});
