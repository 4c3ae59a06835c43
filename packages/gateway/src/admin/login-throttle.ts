import { type Kysely, sql } from "kysely";
import type { Database } from "../platform/database/schema.ts";
import { DomainError, ErrorCode } from "../platform/errors.ts";

export interface LoginThrottleSettings {
  /** Failures per email within the window before the email is locked. */
  perEmail: number;
  /** Failures per address within the window before the address is locked. */
  perAddress: number;
  windowMs: number;
  lockMs: number;
}

export const LOGIN_THROTTLE: LoginThrottleSettings = {
  perEmail: 5,
  perAddress: 20,
  windowMs: 15 * 60_000,
  lockMs: 15 * 60_000,
};

function tooManyAttempts(retryAfter: number): DomainError {
  return new DomainError({
    status: 429,
    code: ErrorCode.tooManyRequests,
    message: `too many failed sign-ins: retry after ${retryAfter} s`,
    data: { retry_after: retryAfter },
  });
}

/**
 * Failed sign-ins counted per email and per address in login_failures (in the database, so every
 * gateway process and a restart see the same count). Past the limit the key is locked: every
 * attempt is refused, a right password included, until the lock ends.
 */
export function createLoginThrottle(options: {
  db: Kysely<Database>;
  settings?: LoginThrottleSettings;
  now?: () => Date;
}) {
  const { db } = options;
  const settings = options.settings ?? LOGIN_THROTTLE;
  const now = options.now ?? (() => new Date());
  const keys = (email: string, ip: string | null) => [
    { key: `email:${email}`, limit: settings.perEmail },
    ...(ip === null ? [] : [{ key: `ip:${ip}`, limit: settings.perAddress }]),
  ];

  return {
    /** Throws 429 4029 (with data.retry_after) while the email or the address is locked. */
    async check(email: string, ip: string | null): Promise<void> {
      const rows = await db
        .selectFrom("login_failures")
        .select(["locked_until"])
        .where(
          "key",
          "in",
          keys(email, ip).map((k) => k.key),
        )
        .execute();
      const at = now().getTime();
      const until = Math.max(
        0,
        ...rows.map((r) => (r.locked_until ? +new Date(r.locked_until) : 0)),
      );
      if (until > at) throw tooManyAttempts(Math.ceil((until - at) / 1000));
    },

    async recordFailure(email: string, ip: string | null): Promise<void> {
      const at = now();
      const windowStart = new Date(at.getTime() - settings.windowMs);
      const lockUntil = new Date(at.getTime() + settings.lockMs);
      for (const { key, limit } of keys(email, ip)) {
        // One statement per key: concurrent failures count each, a stale window starts over.
        await db
          .insertInto("login_failures")
          .values({
            key,
            failures: 1,
            first_failed_at: at,
            locked_until: limit <= 1 ? lockUntil : null,
          })
          .onConflict((oc) =>
            oc.column("key").doUpdateSet({
              failures: sql`case when login_failures.first_failed_at < ${windowStart} then 1 else login_failures.failures + 1 end`,
              first_failed_at: sql`case when login_failures.first_failed_at < ${windowStart} then ${at} else login_failures.first_failed_at end`,
              locked_until: sql`case when login_failures.first_failed_at >= ${windowStart} and login_failures.failures + 1 >= ${limit} then ${lockUntil} else login_failures.locked_until end`,
            }),
          )
          .execute();
      }
    },

    /** A right sign-in clears the email's count (not the address's: it may be shared). */
    async recordSuccess(email: string): Promise<void> {
      await db.deleteFrom("login_failures").where("key", "=", `email:${email}`).execute();
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
