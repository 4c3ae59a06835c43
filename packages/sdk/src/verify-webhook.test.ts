import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyWebhook, WebhookVerificationError } from "./verify-webhook.ts";

const secret = "whsec_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const body = JSON.stringify({ payment_intent_id: "x", status: "success", event_id: "evt_1" });
const now = 1_800_000_000;
const sign = (t: number, b: string, s = secret) =>
  createHmac("sha256", s).update(`${t}.${b}`).digest("hex");

function reason(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.reason;
    throw err;
  }
  return undefined;
}

describe("verifyWebhook", () => {
  it("returns the payload for a good signature, from a string or bytes", () => {
    const header = `t=${now},v1=${sign(now, body)}`;
    expect(verifyWebhook(body, header, secret, { now }).status).toBe("success");
    expect(verifyWebhook(new TextEncoder().encode(body), header, secret, { now }).event_id).toBe(
      "evt_1",
    );
  });

  it("accepts any of several signatures and any of several secrets (rotation)", () => {
    const old = "whsec_old";
    const header = `t=${now},v1=${sign(now, body)},v1=${sign(now, body, old)}`;
    expect(() => verifyWebhook(body, header, old, { now })).not.toThrow();
    expect(() =>
      verifyWebhook(body, `t=${now},v1=${sign(now, body, old)}`, [secret, old], { now }),
    ).not.toThrow();
  });

  it("says which check failed", () => {
    const good = `t=${now},v1=${sign(now, body)}`;
    expect(reason(() => verifyWebhook(body, undefined, secret, { now }))).toBe("missing_header");
    expect(reason(() => verifyWebhook(body, "v1=abc", secret, { now }))).toBe("malformed_header");
    expect(reason(() => verifyWebhook(body, `t=${now}`, secret, { now }))).toBe("malformed_header");
    expect(reason(() => verifyWebhook(`${body} `, good, secret, { now }))).toBe(
      "signature_mismatch",
    );
    expect(reason(() => verifyWebhook(body, `t=${now},v1=zz`, secret, { now }))).toBe(
      "signature_mismatch",
    );
    expect(reason(() => verifyWebhook(body, good, secret, { now: now + 301 }))).toBe(
      "timestamp_out_of_tolerance",
    );
    expect(reason(() => verifyWebhook(body, good, secret, { now: now - 301 }))).toBe(
      "timestamp_out_of_tolerance",
    );
    expect(
      reason(() => verifyWebhook(body, good, secret, { now: now + 301, toleranceSeconds: 600 })),
    ).toBeUndefined();
    expect(
      reason(() =>
        verifyWebhook("not json", `t=${now},v1=${sign(now, "not json")}`, secret, { now }),
      ),
    ).toBe("invalid_json");
  });
});
