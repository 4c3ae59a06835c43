import { randomBytes, randomInt } from "node:crypto";

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** 32 random alphanumeric characters, the shape of the reference's payment_intent_id. */
export function newPaymentIntentId(): string {
  let id = "";
  for (let i = 0; i < 32; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return id;
}

export const PAYMENT_INTENT_ID_PATTERN = /^[0-9A-Za-z]{32}$/;

/** A payment link's id, public in its URL: 20 random alphanumerics (119 bits) after `pl_`. */
export function newPaymentLinkId(): string {
  let id = "pl_";
  for (let i = 0; i < 20; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return id;
}

export const PAYMENT_LINK_ID_PATTERN = /^pl_[0-9A-Za-z]{20}$/;

/** 32 lowercase hex characters, the shape of the reference's client_id. */
export function newClientId(): string {
  return randomBytes(16).toString("hex");
}

export const CLIENT_ID_PATTERN = /^[0-9a-f]{32}$/;

/** An API key secret: a recognisable prefix and 256 bits of randomness. Shown once, stored hashed. */
export function newApiKeySecret(): string {
  return `sg_live_${randomBytes(32).toString("base64url")}`;
}

/** A callback event's id, sent as X-Stablegate-Event-Id: receivers deduplicate by it. */
export function newCallbackEventId(): string {
  let id = "evt_";
  for (let i = 0; i < 24; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return id;
}

/** A merchant refund's id: `rf_` and 24 random letters and digits. */
export function newRefundId(): string {
  let id = "rf_";
  for (let i = 0; i < 24; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return id;
}

/** A webhook signing secret: 256 bits. The whole string (prefix included) is the HMAC key. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString("hex")}`;
}
