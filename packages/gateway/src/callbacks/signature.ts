import { createHmac } from "node:crypto";

/**
 * The X-Stablegate-Signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
 * one v1 per active secret (two while a rotated-out secret is still valid), so a receiver that
 * knows either secret can verify. packages/sdk's verifyWebhook is the other side.
 */
export function signatureHeader(body: string, secrets: readonly string[], unixSeconds: number) {
  const signed = `${unixSeconds}.${body}`;
  const v1 = secrets.map((s) => `v1=${createHmac("sha256", s).update(signed).digest("hex")}`);
  return [`t=${unixSeconds}`, ...v1].join(",");
}
