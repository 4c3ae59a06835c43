import type { Kysely } from "kysely";
import type { Database } from "../platform/database/schema.ts";
import { DomainError, ErrorCode } from "../platform/errors.ts";
import { type Actor, recordAudit } from "./audit-log.ts";
import type { LoginThrottle } from "./login-throttle.ts";
import { checkNewPassword, hashPassword, verifyPassword } from "./passwords.ts";
import { createSecondFactor } from "./second-factor.ts";
import type { StudioSessions } from "./studio-sessions.ts";

export function wrongCredentials(): DomainError {
  return new DomainError({
    status: 401,
    code: ErrorCode.wrongCredentials,
    message: "email or password is wrong",
  });
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Signing in and out, and what a user changes about their own account. */
export function createAccountService(options: {
  db: Kysely<Database>;
  sessions: StudioSessions;
  throttle: LoginThrottle;
  now?: () => Date;
}) {
  const { db, sessions, throttle } = options;
  const now = options.now ?? (() => new Date());

  return {
    /**
     * Checks the password (and the TOTP code when the user has it on) and starts a session.
     * An unknown email, a disabled account and a wrong password get the same answer, after the
     * same argon2 work.
     */
    async signIn(input: {
      email: string;
      password: string;
      totpCode: string | undefined;
      ip: string | null;
      userAgent: string | null;
    }) {
      const email = normaliseEmail(input.email);
      await throttle.check(email, input.ip);
      const user = await db
        .selectFrom("users")
        .select(["id", "password_hash", "disabled_at"])
        .where("email", "=", email)
        .executeTakeFirst();
      const usable = user && user.disabled_at === null ? user : undefined;
      if (!(await verifyPassword(usable?.password_hash, input.password)) || !usable) {
        await throttle.recordFailure(email, input.ip);
        throw wrongCredentials();
      }
      const factor = await createSecondFactor({ db, now }).check(usable.id, input.totpCode);
      if (factor === "missing") {
        throw new DomainError({
          status: 401,
          code: ErrorCode.totpRequired,
          message: "totp_code: enter the code from your authenticator app",
          data: { totp_required: true, field: "totp_code" },
        });
      }
      if (factor === "wrong") {
        await throttle.recordFailure(email, input.ip);
        throw wrongCredentials();
      }
      await throttle.recordSuccess(email);
      const session = await sessions.start(usable.id, { ip: input.ip, userAgent: input.userAgent });
      return { ...session, user: { id: usable.id } };
    },

    /** A new password; every other session of the user ends (this one stays). */
    async changePassword(
      actor: Actor & { kind: "user" },
      sessionId: string,
      input: { currentPassword: string; newPassword: string },
    ): Promise<void> {
      checkNewPassword("new_password", input.newPassword);
      const user = await db
        .selectFrom("users")
        .select("password_hash")
        .where("id", "=", actor.userId)
        .executeTakeFirstOrThrow();
      if (!(await verifyPassword(user.password_hash, input.currentPassword))) {
        throw new DomainError({
          status: 403,
          code: ErrorCode.wrongCredentials,
          message: "current_password is wrong",
          data: { field: "current_password" },
        });
      }
      const passwordHash = await hashPassword(input.newPassword);
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable("users")
          .set({ password_hash: passwordHash })
          .where("id", "=", actor.userId)
          .execute();
        await recordAudit(trx, actor, {
          orgId: null,
          action: "user.password_changed",
          target: `user:${actor.userId}`,
        });
      });
      await sessions.endAll(actor.userId, sessionId);
    },
  };
}

export type AccountService = ReturnType<typeof createAccountService>;
