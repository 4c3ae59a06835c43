import { createHmac, timingSafeEqual } from "node:crypto";
import type { components } from "./openapi.d.ts";

/**
 * The JSON body of a Stablegate status callback (docs/callbacks.md): the `payment-status`
 * webhook of the gateway's OpenAPI document.
 */
export type CallbackPayload = components["schemas"]["CallbackPayload"];

export type WebhookVerificationReason =
  | "missing_header"
  | "malformed_header"
  | "timestamp_out_of_tolerance"
  | "signature_mismatch"
  | "invalid_json";

/**
 * Thrown by verifyWebhook; `reason` says which check failed.
 *
 * @example
 * try {
 *   verifyWebhook(rawBody, signatureHeader, secret);
 * } catch (err) {
 *   if (err instanceof WebhookVerificationError && err.reason === "timestamp_out_of_tolerance") {
 *     console.warn("a replayed or delayed callback");
 *   }
 * }
 */
export class WebhookVerificationError extends Error {
  readonly reason: WebhookVerificationReason;

  constructor(reason: WebhookVerificationReason, message: string) {
    super(message);
    this.name = "WebhookVerificationError";
    this.reason = reason;
  }
}

export interface VerifyWebhookOptions {
  /** How old (or how far in the future) the signature's timestamp may be; default 300 s. */
  toleranceSeconds?: number;
  /** The current time in unix seconds; default the system clock. */
  now?: number;
}

/**
 * Checks that a callback came from your gateway and was not altered or replayed, and returns its
 * payload. Pass the raw request body exactly as received (not re-serialised JSON), the
 * `X-Stablegate-Signature` header, and your organisation's webhook secret (or both secrets while
 * you rotate). Throws WebhookVerificationError when any check fails.
 *
 * @example
 * ```ts
 * import express from "express";
 * import { verifyWebhook } from "@stablegate/sdk";
 *
 * app.post("/webhook", express.raw({ type: "application/json" }), (req, res) => {
 *   let update;
 *   try {
 *     update = verifyWebhook(req.body, req.get("X-Stablegate-Signature"), process.env.WEBHOOK_SECRET!);
 *   } catch {
 *     return res.status(400).send("bad signature");
 *   }
 *   if (update.status === "success") markOrderPaid(update.order_data, update.payment_tx_hash);
 *   res.status(200).send("Webhook received");
 * });
 * ```
 */
export function verifyWebhook(
  rawBody: string | Uint8Array,
  signatureHeader: string | null | undefined,
  secret: string | readonly string[],
  options: VerifyWebhookOptions = {},
): CallbackPayload {
  if (!signatureHeader) {
    throw new WebhookVerificationError(
      "missing_header",
      "X-Stablegate-Signature header is missing",
    );
  }
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of signatureHeader.split(",")) {
    const eq = part.indexOf("=");
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t") timestamp = value;
    else if (key === "v1") signatures.push(value);
  }
  if (timestamp === undefined || !/^\d+$/.test(timestamp) || signatures.length === 0) {
    throw new WebhookVerificationError(
      "malformed_header",
      "X-Stablegate-Signature must look like t=<unix seconds>,v1=<hex>",
    );
  }
  const tolerance = options.toleranceSeconds ?? 300;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > tolerance) {
    throw new WebhookVerificationError(
      "timestamp_out_of_tolerance",
      `signature timestamp ${timestamp} is more than ${tolerance} s from now (${now})`,
    );
  }
  const body = typeof rawBody === "string" ? Buffer.from(rawBody, "utf8") : Buffer.from(rawBody);
  const signed = Buffer.concat([Buffer.from(`${timestamp}.`, "utf8"), body]);
  const secrets = typeof secret === "string" ? [secret] : secret;
  const matches = secrets.some((s) => {
    const expected = createHmac("sha256", s).update(signed).digest();
    return signatures.some((candidate) => {
      if (!/^[0-9a-f]{64}$/i.test(candidate)) return false;
      return timingSafeEqual(expected, Buffer.from(candidate, "hex"));
    });
  });
  if (!matches) {
    throw new WebhookVerificationError(
      "signature_mismatch",
      "no signature matches this body and secret",
    );
  }
  try {
    return JSON.parse(body.toString("utf8")) as CallbackPayload;
  } catch {
    throw new WebhookVerificationError("invalid_json", "the signed body is not JSON");
  }
}
