import { type Kysely, sql, type Transaction } from "kysely";
import type { Database, OrgRole } from "../platform/database/schema.ts";
import { DomainError, ErrorCode, notFound } from "../platform/errors.ts";
import { wrongCredentials } from "./account-service.ts";
import { type Actor, recordAudit } from "./audit-log.ts";
import type { LoginThrottle } from "./login-throttle.ts";
import { checkNewPassword, hashPassword, verifyPassword } from "./passwords.ts";
import { hashToken, newToken } from "./studio-sessions.ts";

/** How long an invitation link works. */
export const INVITATION_DAYS = 7;

export function invitationInvalid(): DomainError {
  return new DomainError({
    status: 404,
    code: ErrorCode.invitationInvalid,
    message: "this invitation is not valid (used, revoked or expired)",
  });
}

function lastOwner(): DomainError {
  return new DomainError({
    status: 409,
    code: ErrorCode.lastOwner,
    message: "an organisation keeps at least one owner: make another member owner first",
  });
}

/**
 * Locks the organisation's memberships and throws 409 4038 if `userId` is its only owner, so two
 * owners demoting each other at once cannot both succeed.
 */
async function keepAnOwner(trx: Transaction<Database>, orgId: number, userId: number) {
  const owners = await trx
    .selectFrom("memberships")
    .select("user_id")
    .where("org_id", "=", orgId)
    .where("role", "=", "owner")
    .forUpdate()
    .execute();
  if (owners.length === 1 && owners[0]?.user_id === userId) throw lastOwner();
}

/** Members of an organisation and invitations to it. */
export function createTeamService(options: {
  db: Kysely<Database>;
  throttle: LoginThrottle;
  now?: () => Date;
}) {
  const { db, throttle } = options;
  const now = options.now ?? (() => new Date());

  async function membershipOf(trx: Transaction<Database>, orgId: number, userId: number) {
    const row = await trx
      .selectFrom("memberships")
      .select("role")
      .where("org_id", "=", orgId)
      .where("user_id", "=", userId)
      .forUpdate()
      .executeTakeFirst();
    if (!row) throw notFound(`user ${userId} is not a member of this organisation`);
    return row;
  }

  /** The pending invitation of `token` (under its row lock), or 404 4039. */
  async function pendingInvitation(executor: Kysely<Database>, token: string, lock: boolean) {
    const row = await executor
      .selectFrom("invitations as i")
      .innerJoin("organizations as o", "o.id", "i.org_id")
      .select(["i.id", "i.org_id", "i.email", "i.role", "i.expires_at", "o.name as org_name"])
      .where("i.id", "=", hashToken(token))
      .where("i.accepted_at", "is", null)
      .where("i.revoked_at", "is", null)
      .where("i.expires_at", ">", sql<Date>`${now()}`)
      .$if(lock, (q) => q.forUpdate("i"))
      .executeTakeFirst();
    if (!row) throw invitationInvalid();
    return row;
  }

  return {
    async listMembers(orgId: number) {
      const rows = await db
        .selectFrom("memberships as m")
        .innerJoin("users as u", "u.id", "m.user_id")
        .select(["u.id", "u.email", "u.name", "m.role", "u.totp_enabled_at", "m.created_at"])
        .where("m.org_id", "=", orgId)
        .orderBy("m.created_at")
        .orderBy("u.id")
        .execute();
      return rows.map((r) => ({
        user_id: r.id,
        email: r.email,
        name: r.name,
        role: r.role,
        totp_enabled: r.totp_enabled_at !== null,
        created_at: new Date(r.created_at).toISOString(),
      }));
    },

    async changeRole(actor: Actor, orgId: number, userId: number, role: OrgRole) {
      await db.transaction().execute(async (trx) => {
        const before = await membershipOf(trx, orgId, userId);
        if (before.role === role) return;
        if (before.role === "owner") await keepAnOwner(trx, orgId, userId);
        await trx
          .updateTable("memberships")
          .set({ role })
          .where("org_id", "=", orgId)
          .where("user_id", "=", userId)
          .execute();
        await recordAudit(trx, actor, {
          orgId,
          action: "member.role_changed",
          target: `user:${userId}`,
          before: { role: before.role },
          after: { role },
        });
      });
    },

    async removeMember(actor: Actor, orgId: number, userId: number) {
      await db.transaction().execute(async (trx) => {
        const before = await membershipOf(trx, orgId, userId);
        if (before.role === "owner") await keepAnOwner(trx, orgId, userId);
        await trx
          .deleteFrom("memberships")
          .where("org_id", "=", orgId)
          .where("user_id", "=", userId)
          .execute();
        await recordAudit(trx, actor, {
          orgId,
          action: "member.removed",
          target: `user:${userId}`,
          before: { role: before.role },
        });
      });
    },

    /** A one-time link for `email` to join with `role`; the token is in the answer only. */
    async invite(
      executor: Kysely<Database>,
      actor: Actor,
      input: { orgId: number; email: string; role: OrgRole },
    ) {
      const member = await executor
        .selectFrom("memberships as m")
        .innerJoin("users as u", "u.id", "m.user_id")
        .select("u.id")
        .where("m.org_id", "=", input.orgId)
        .where("u.email", "=", input.email)
        .executeTakeFirst();
      if (member) {
        throw new DomainError({
          status: 409,
          code: ErrorCode.alreadyMember,
          message: `${input.email} is already a member: change their role instead`,
          data: { field: "email" },
        });
      }
      const token = newToken();
      const expiresAt = new Date(now().getTime() + INVITATION_DAYS * 86_400_000);
      await executor
        .insertInto("invitations")
        .values({
          id: hashToken(token),
          org_id: input.orgId,
          email: input.email,
          role: input.role,
          invited_by: actor.kind === "user" ? actor.userId : null,
          created_at: now(),
          expires_at: expiresAt,
        })
        .execute();
      await recordAudit(executor, actor, {
        orgId: input.orgId,
        action: "invitation.created",
        target: `invitation:${hashToken(token)}`,
        after: { email: input.email, role: input.role, expires_at: expiresAt.toISOString() },
      });
      return { id: hashToken(token), token, email: input.email, role: input.role, expiresAt };
    },

    async listInvitations(orgId: number) {
      const rows = await db
        .selectFrom("invitations")
        .select(["id", "email", "role", "invited_by", "created_at", "expires_at"])
        .where("org_id", "=", orgId)
        .where("accepted_at", "is", null)
        .where("revoked_at", "is", null)
        .where("expires_at", ">", sql<Date>`${now()}`)
        .orderBy("created_at", "desc")
        .execute();
      return rows.map((r) => ({
        id: r.id,
        email: r.email,
        role: r.role,
        invited_by: r.invited_by,
        created_at: new Date(r.created_at).toISOString(),
        expires_at: new Date(r.expires_at).toISOString(),
      }));
    },

    async revokeInvitation(actor: Actor, orgId: number, id: string) {
      await db.transaction().execute(async (trx) => {
        const revoked = await trx
          .updateTable("invitations")
          .set({ revoked_at: now() })
          .where("id", "=", id)
          .where("org_id", "=", orgId)
          .where("accepted_at", "is", null)
          .where("revoked_at", "is", null)
          .returning(["email", "role"])
          .executeTakeFirst();
        if (!revoked) throw invitationInvalid();
        await recordAudit(trx, actor, {
          orgId,
          action: "invitation.revoked",
          target: `invitation:${id}`,
          before: revoked,
        });
      });
    },

    /** What the invitation page shows before the invitee accepts. */
    async openInvitation(token: string) {
      const row = await pendingInvitation(db, token, false);
      return {
        org_name: row.org_name,
        role: row.role,
        email: row.email,
        expires_at: new Date(row.expires_at).toISOString(),
      };
    },

    /**
     * Joins the invitation's organisation: creates the account, or for an email that has one,
     * checks that account's password (throttled like signing in). Used once: the row is locked
     * and marked accepted in the same transaction.
     */
    async acceptInvitation(
      token: string,
      input: { name: string; password: string; ip: string | null },
    ): Promise<{ userId: number }> {
      const invitation = await pendingInvitation(db, token, false);
      await throttle.check(invitation.email, input.ip);
      const existing = await db
        .selectFrom("users")
        .select(["id", "password_hash", "disabled_at"])
        .where("email", "=", invitation.email)
        .executeTakeFirst();
      let passwordHash: string | undefined;
      if (existing) {
        if (
          existing.disabled_at !== null ||
          !(await verifyPassword(existing.password_hash, input.password))
        ) {
          await throttle.recordFailure(invitation.email, input.ip);
          throw wrongCredentials();
        }
      } else {
        checkNewPassword("password", input.password);
        passwordHash = await hashPassword(input.password);
      }
      return db.transaction().execute(async (trx) => {
        const locked = await pendingInvitation(trx, token, true);
        const userId =
          existing?.id ??
          (
            await trx
              .insertInto("users")
              .values({
                email: locked.email,
                name: input.name,
                password_hash: passwordHash as string,
              })
              .returning("id")
              .executeTakeFirstOrThrow()
          ).id;
        await trx
          .insertInto("memberships")
          .values({ org_id: locked.org_id, user_id: userId, role: locked.role })
          .onConflict((oc) => oc.columns(["org_id", "user_id"]).doUpdateSet({ role: locked.role }))
          .execute();
        await trx
          .updateTable("invitations")
          .set({ accepted_at: now(), accepted_by: userId })
          .where("id", "=", locked.id)
          .execute();
        await recordAudit(
          trx,
          { kind: "user", userId, email: locked.email, ip: input.ip },
          {
            orgId: locked.org_id,
            action: "invitation.accepted",
            target: `invitation:${locked.id}`,
            after: { user_id: userId, role: locked.role, new_account: !existing },
          },
        );
        return { userId };
      });
    },
  };
}

export type TeamService = ReturnType<typeof createTeamService>;
