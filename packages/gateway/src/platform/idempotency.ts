import { createHash } from "node:crypto";
import { DomainError, ErrorCode, validationError } from "./errors.ts";

// What every Idempotency-Key shares, whoever stores it: the transfer API (payouts/), intent
// create (payments/), the generic layer for every other POST (http/idempotency.ts).

/** A same-key request after this long is a new request (the key may be reused). */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** 1-255 visible ASCII characters (a UUID, an order number...), or a 400 naming the header. */
export function validateIdempotencyKey(key: string | undefined): void {
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw validationError("Idempotency-Key", "must be 1-255 visible ASCII characters");
  }
}

/** The oldest creation time a key still counts from, at `now`. */
export function idempotencyCutoff(now: Date): Date {
  return new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS);
}

/**
 * JSON with every object's keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` (or the same body
 * with other spacing) are one request. Arrays keep their order.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** sha256 (hex) of the canonical JSON of `parts`: what "the same request" means for a key. */
export function requestHash(...parts: unknown[]): string {
  return createHash("sha256").update(canonicalJson(parts)).digest("hex");
}

/** The key was used in the last 24 hours for another request (another body, path or client). */
export function idempotencyKeyReused(
  key: string,
  what: string,
  data?: Record<string, unknown>,
): DomainError {
  return new DomainError({
    status: 409,
    code: ErrorCode.idempotencyKeyReused,
    message: `Idempotency-Key ${JSON.stringify(key)} was used in the last 24 hours for ${what}; send a new key for a new request`,
    ...(data === undefined ? {} : { data }),
  });
}

/** Seconds a client should wait before retrying a request whose first copy is still running. */
export const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;

/** The first request with this key is still being answered: retry after a moment. */
export function idempotencyKeyInUse(key: string): DomainError {
  return new DomainError({
    status: 409,
    code: ErrorCode.idempotencyKeyInUse,
    message: `Idempotency-Key ${JSON.stringify(key)}: a request with this key is still in progress; retry after ${IN_FLIGHT_RETRY_AFTER_SECONDS} s for its answer`,
    data: { retry_after: IN_FLIGHT_RETRY_AFTER_SECONDS },
  });
}
