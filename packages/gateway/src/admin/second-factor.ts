import type { Kysely } from "kysely";
import { Secret, TOTP } from "otpauth";
import type { Database } from "../platform/database/schema.ts";
import { DomainError, ErrorCode } from "../platform/errors.ts";

/**
 * An owner's second factor, checked before a money action (a withdrawal above the approval
 * threshold, a new treasury address): 403 4036 when the user has no TOTP, 403 4037 when the
 * code is missing or wrong. A code of the previous or next 30 s window is accepted (clock skew).
 */
export async function verifySecondFactor(
  db: Kysely<Database>,
  userId: number,
  code: string | undefined,
): Promise<void> {
  const user = await db
    .selectFrom("users")
    .select(["totp_secret", "totp_enabled_at"])
    .where("id", "=", userId)
    .executeTakeFirst();
  if (!user || user.totp_enabled_at === null || user.totp_secret === null) {
    throw new DomainError({
      status: 403,
      code: ErrorCode.secondFactorRequired,
      message: "two-factor authentication is required: set it up first",
    });
  }
  const totp = new TOTP({ secret: Secret.fromBase32(user.totp_secret) });
  if (code === undefined || totp.validate({ token: code, window: 1 }) === null) {
    throw new DomainError({
      status: 403,
      code: ErrorCode.secondFactorWrong,
      message: "the authentication code is wrong",
    });
  }
}
