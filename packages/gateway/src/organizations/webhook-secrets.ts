import type { Kysely, Transaction } from "kysely";
import { type Actor, recordAudit } from "../admin/audit-log.ts";
import type { Database } from "../platform/database/schema.ts";
import { notFound } from "../platform/errors.ts";
import { newWebhookSecret } from "../platform/ids.ts";

/** How long a rotated-out secret keeps signing, so receivers can switch without losing events. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

/**
 * Each organisation's webhook signing secrets. A secret is returned only when it is made (at
 * organisation creation and at rotation); afterwards it is only used to sign.
 */
export function createWebhookSecrets(options: { db: Kysely<Database>; now?: () => Date }) {
  const { db } = options;
  const now = options.now ?? (() => new Date());

  async function create(
    trx: Kysely<Database> | Transaction<Database>,
    orgId: number,
  ): Promise<string> {
    const secret = newWebhookSecret();
    await trx.insertInto("webhook_secrets").values({ org_id: orgId, secret }).execute();
    return secret;
  }

  return {
    create,

    /** A new secret; the current ones keep signing for 24 h beside it. Audited when `actor`. */
    async rotate(
      orgId: number,
      actor?: Actor,
    ): Promise<{ secret: string; previousValidUntil: Date }> {
      const previousValidUntil = new Date(now().getTime() + ROTATION_OVERLAP_MS);
      return db.transaction().execute(async (trx) => {
        await trx
          .updateTable("webhook_secrets")
          .set({ expires_at: previousValidUntil })
          .where("org_id", "=", orgId)
          .where((eb) =>
            eb.or([eb("expires_at", "is", null), eb("expires_at", ">", previousValidUntil)]),
          )
          .execute();
        const secret = await create(trx, orgId);
        if (actor) {
          await recordAudit(trx, actor, {
            orgId,
            action: "webhook_secret.rotated",
            target: `org:${orgId}`,
            after: { previous_valid_until: previousValidUntil.toISOString() },
          });
        }
        return { secret, previousValidUntil };
      });
    },

    /**
     * What may be shown of the secrets: when the current one was made, and until when the one
     * it replaced still signs (null when none does).
     */
    async describe(orgId: number): Promise<{ createdAt: Date; previousExpiresAt: Date | null }> {
      const rows = await db
        .selectFrom("webhook_secrets")
        .select(["created_at", "expires_at"])
        .where("org_id", "=", orgId)
        .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now())]))
        .orderBy("id", "desc")
        .execute();
      const [current, ...previous] = rows;
      if (!current) throw notFound(`organization ${orgId} has no webhook secret`);
      const expiries = previous.flatMap((r) => (r.expires_at ? [new Date(r.expires_at)] : []));
      return {
        createdAt: new Date(current.created_at),
        previousExpiresAt: expiries.length
          ? new Date(Math.max(...expiries.map((d) => d.getTime())))
          : null,
      };
    },

    /** The secrets that sign now, newest first. */
    async active(orgId: number): Promise<string[]> {
      const rows = await db
        .selectFrom("webhook_secrets")
        .select("secret")
        .where("org_id", "=", orgId)
        .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now())]))
        .orderBy("id", "desc")
        .execute();
      return rows.map((r) => r.secret);
    },
  };
}

export type WebhookSecrets = ReturnType<typeof createWebhookSecrets>;
