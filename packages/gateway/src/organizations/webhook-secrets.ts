import type { Kysely, Transaction } from "kysely";
import type { Database } from "../platform/database/schema.ts";
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

    /** A new secret; the current ones keep signing for 24 h beside it. */
    async rotate(orgId: number): Promise<{ secret: string; previousValidUntil: Date }> {
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
        return { secret: await create(trx, orgId), previousValidUntil };
      });
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
