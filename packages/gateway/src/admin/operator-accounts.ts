import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../platform/database/schema.ts";
import { notFound, validationError } from "../platform/errors.ts";
import { normaliseEmail } from "./account-service.ts";
import { recordAudit } from "./audit-log.ts";
import { createLoginThrottle } from "./login-throttle.ts";
import { checkNewPassword, hashPassword, verifyPassword } from "./passwords.ts";
import type { OrgRole } from "./roles.ts";
import { createTeamService } from "./team-service.ts";

/** A password for an account made by the CLI or the sandbox: 128 random bits, printable. */
export function generatePassword(): string {
  return randomBytes(16).toString("base64url");
}

/** A lower-cased email, or a 400 naming `email`. */
function checkedEmail(input: string): string {
  const email = normaliseEmail(input);
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw validationError("email", "is not an email address");
  return email;
}

/** The hash of `given` (checked), or of a generated password, which is answered too. */
async function newPassword(given: string | undefined) {
  if (given !== undefined) checkNewPassword("password", given);
  const generated = given === undefined ? generatePassword() : undefined;
  return { generated, passwordHash: await hashPassword(given ?? (generated as string)) };
}

/**
 * The gateway's operators, made outside Studio (which cannot make the first one): the CLI's
 * `admin create-operator` and the sandbox.
 */
export function createOperatorAccounts(options: { db: Kysely<Database> }) {
  const { db } = options;

  return {
    /**
     * Makes `email` an operator: a new account with `password` (generated when not given), or an
     * existing one promoted, its password replaced only when one is given.
     * Answers the password only when it was generated.
     */
    async createOperator(input: { email: string; password?: string | undefined }) {
      const email = checkedEmail(input.email);
      const { generated, passwordHash } = await newPassword(input.password);
      return db.transaction().execute(async (trx) => {
        const existing = await trx
          .selectFrom("users")
          .select(["id", "is_operator"])
          .where("email", "=", email)
          .forUpdate()
          .executeTakeFirst();
        let userId: number;
        if (existing) {
          userId = existing.id;
          await trx
            .updateTable("users")
            .set({
              is_operator: true,
              ...(input.password === undefined ? {} : { password_hash: passwordHash }),
            })
            .where("id", "=", userId)
            .execute();
        } else {
          userId = (
            await trx
              .insertInto("users")
              .values({ email, name: "Operator", password_hash: passwordHash, is_operator: true })
              .returning("id")
              .executeTakeFirstOrThrow()
          ).id;
        }
        await recordAudit(
          trx,
          { kind: "cli" },
          {
            orgId: null,
            action: existing ? "user.made_operator" : "user.created_operator",
            target: `user:${userId}`,
            before: existing ? { is_operator: existing.is_operator } : undefined,
            after: {
              email,
              is_operator: true,
              password_set: input.password !== undefined || !existing,
            },
          },
        );
        return {
          user_id: userId,
          email,
          created: !existing,
          ...(generated !== undefined && !existing ? { password: generated } : {}),
        };
      });
    },

    /**
     * An invitation into an organisation made at the terminal (`stablegate org invite`), as an
     * owner makes one in Studio: its one-time token, audited as the CLI's.
     */
    async invite(input: { orgId: number; email: string; role: OrgRole }) {
      const email = checkedEmail(input.email);
      const team = createTeamService({ db, throttle: createLoginThrottle({ db }) });
      return db
        .transaction()
        .execute((trx) => team.invite(trx, { kind: "cli" }, { ...input, email }));
    },

    /**
     * An operator's way back in for someone who lost their password or their authenticator (no
     * mail server is assumed, so there is no "forgot password" link): a new password, generated
     * when not given and answered once; with `clearSecondFactor`, two-factor authentication
     * turned off. Every session of the account is signed out and its sign-in lockout lifted.
     */
    async resetPassword(input: {
      email: string;
      password?: string | undefined;
      clearSecondFactor?: boolean | undefined;
    }) {
      const email = normaliseEmail(input.email);
      const { generated, passwordHash } = await newPassword(input.password);
      return db.transaction().execute(async (trx) => {
        const user = await trx
          .selectFrom("users")
          .select(["id", "totp_enabled_at", "disabled_at"])
          .where("email", "=", email)
          .forUpdate()
          .executeTakeFirst();
        if (!user) throw notFound(`no account with the email ${JSON.stringify(email)}`);
        const clearSecondFactor = input.clearSecondFactor === true && user.totp_enabled_at !== null;
        await trx
          .updateTable("users")
          .set({
            password_hash: passwordHash,
            ...(clearSecondFactor
              ? { totp_secret: null, totp_enabled_at: null, totp_last_step: null }
              : {}),
          })
          .where("id", "=", user.id)
          .execute();
        const ended = await trx
          .updateTable("studio_sessions")
          .set({ revoked_at: new Date() })
          .where("user_id", "=", user.id)
          .where("revoked_at", "is", null)
          .where("expires_at", ">", new Date())
          .executeTakeFirst();
        await trx.deleteFrom("login_failures").where("key", "=", `email:${email}`).execute();
        const secondFactor =
          user.totp_enabled_at === null ? "off" : clearSecondFactor ? "turned off" : "on";
        await recordAudit(
          trx,
          { kind: "cli" },
          {
            orgId: null,
            action: "user.password_reset",
            target: `user:${user.id}`,
            after: { email, second_factor: secondFactor },
          },
        );
        return {
          user_id: user.id,
          email,
          ...(generated !== undefined ? { password: generated } : {}),
          second_factor: secondFactor,
          sessions_ended: Number(ended.numUpdatedRows),
          ...(user.disabled_at !== null ? { disabled: true } : {}),
        };
      });
    },

    /**
     * The sandbox's operator, owner of the sandbox organisation, signing in with `password`
     * (kept in sandbox.json): created on the first start, its password put back if it differs.
     */
    async ensureSandboxOperator(input: { email: string; password: string; orgId: number }) {
      const user = await db
        .selectFrom("users")
        .select(["id", "password_hash"])
        .where("email", "=", input.email)
        .executeTakeFirst();
      if (!user || !(await verifyPassword(user.password_hash, input.password))) {
        await this.createOperator({ email: input.email, password: input.password });
      }
      const { id } = await db
        .selectFrom("users")
        .select("id")
        .where("email", "=", input.email)
        .executeTakeFirstOrThrow();
      await db
        .insertInto("memberships")
        .values({ org_id: input.orgId, user_id: id, role: "owner" })
        .onConflict((oc) => oc.columns(["org_id", "user_id"]).doNothing())
        .execute();
    },
  };
}

export type OperatorAccounts = ReturnType<typeof createOperatorAccounts>;
