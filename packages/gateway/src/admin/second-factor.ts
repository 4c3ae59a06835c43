import type { Kysely } from "kysely";
import { Secret, TOTP } from "otpauth";
import type { Database } from "../platform/database/schema.ts";
import { DomainError, ErrorCode } from "../platform/errors.ts";

const ISSUER = "Stablegate";
// ±1 step of 30 s: a phone's clock a little off, or a code typed as it rolls over.
const WINDOW = 1;

function totpOf(secret: string, label = ""): TOTP {
  return new TOTP({ issuer: ISSUER, label, secret: Secret.fromBase32(secret) });
}

/**
 * Whether `code` is right for `secret` now, and not one already used: the accepted time step is
 * stored, and a step at or before the last one is refused, so each code works once.
 */
async function acceptCode(
  db: Kysely<Database>,
  userId: number,
  secret: string,
  code: string | undefined,
  at: number,
): Promise<boolean> {
  if (code === undefined || !/^[0-9]{6}$/.test(code)) return false;
  const delta = totpOf(secret).validate({ token: code, timestamp: at, window: WINDOW });
  if (delta === null) return false;
  const step = TOTP.counter({ timestamp: at }) + delta;
  const claimed = await db
    .updateTable("users")
    .set({ totp_last_step: step })
    .where("id", "=", userId)
    .where((eb) => eb.or([eb("totp_last_step", "is", null), eb("totp_last_step", "<", step)]))
    .executeTakeFirst();
  return claimed.numUpdatedRows > 0n;
}

export function secondFactorWrong(): DomainError {
  return new DomainError({
    status: 403,
    code: ErrorCode.secondFactorWrong,
    message: "the authentication code is wrong",
  });
}

/**
 * The second factor for a sensitive change (a withdrawal above the threshold, the treasury
 * address): 403 4036 when the user has not set TOTP up, 403 4037 when the code is missing, wrong
 * or already used.
 */
export async function verifySecondFactor(
  db: Kysely<Database>,
  userId: number,
  code: string | undefined,
  now: () => Date = () => new Date(),
): Promise<void> {
  const user = await db
    .selectFrom("users")
    .select(["totp_secret", "totp_enabled_at"])
    .where("id", "=", userId)
    .executeTakeFirst();
  if (!user?.totp_secret || user.totp_enabled_at === null) {
    throw new DomainError({
      status: 403,
      code: ErrorCode.secondFactorMissing,
      message: "two-factor authentication is required: set it up first",
    });
  }
  if (!(await acceptCode(db, userId, user.totp_secret, code, now().getTime()))) {
    throw secondFactorWrong();
  }
}

/** TOTP for one user: set-up (pending until a code confirms it), confirm, disable, check. */
export function createSecondFactor(options: { db: Kysely<Database>; now?: () => Date }) {
  const { db } = options;
  const now = options.now ?? (() => new Date());

  return {
    /** A new pending secret (replacing any pending one); refused while TOTP is on. */
    async begin(userId: number, email: string) {
      const user = await db
        .selectFrom("users")
        .select("totp_enabled_at")
        .where("id", "=", userId)
        .executeTakeFirstOrThrow();
      if (user.totp_enabled_at !== null) {
        throw new DomainError({
          status: 409,
          code: ErrorCode.totpAlreadyEnabled,
          message: "two-factor authentication is already on: turn it off first",
        });
      }
      const secret = new Secret({ size: 20 }).base32;
      await db
        .updateTable("users")
        .set({ totp_secret: secret, totp_last_step: null })
        .where("id", "=", userId)
        .execute();
      return { secret, otpauth_url: totpOf(secret, email).toString() };
    },

    /** Turns the pending secret on once a code from it is right. */
    async confirm(userId: number, code: string): Promise<void> {
      const user = await db
        .selectFrom("users")
        .select(["totp_secret", "totp_enabled_at"])
        .where("id", "=", userId)
        .executeTakeFirstOrThrow();
      if (!user.totp_secret || user.totp_enabled_at !== null) {
        throw new DomainError({
          status: 409,
          code: ErrorCode.totpAlreadyEnabled,
          message: user.totp_secret
            ? "two-factor authentication is already on"
            : "start the set-up first (POST /v1/admin/me/totp)",
        });
      }
      if (!(await acceptCode(db, userId, user.totp_secret, code, now().getTime()))) {
        throw secondFactorWrong();
      }
      await db
        .updateTable("users")
        .set({ totp_enabled_at: now() })
        .where("id", "=", userId)
        .execute();
    },

    async disable(userId: number, code: string): Promise<void> {
      await verifySecondFactor(db, userId, code, now);
      await db
        .updateTable("users")
        .set({ totp_secret: null, totp_enabled_at: null, totp_last_step: null })
        .where("id", "=", userId)
        .execute();
    },

    /** For signing in: whether the user has TOTP on, and if so whether `code` is right. */
    async check(
      userId: number,
      code: string | undefined,
    ): Promise<"off" | "missing" | "right" | "wrong"> {
      const user = await db
        .selectFrom("users")
        .select(["totp_secret", "totp_enabled_at"])
        .where("id", "=", userId)
        .executeTakeFirstOrThrow();
      if (!user.totp_secret || user.totp_enabled_at === null) return "off";
      if (code === undefined || code === "") return "missing";
      return (await acceptCode(db, userId, user.totp_secret, code, now().getTime()))
        ? "right"
        : "wrong";
    },
  };
}

export type SecondFactor = ReturnType<typeof createSecondFactor>;
