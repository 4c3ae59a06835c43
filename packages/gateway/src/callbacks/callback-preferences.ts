import type { Kysely } from "kysely";
import type { Database } from "../platform/database/schema.ts";
import { notFound } from "../platform/errors.ts";

/** Which optional callback events an organisation receives (docs/callbacks.md). */
export interface CallbackPreferences {
  /** collection.confirmed: its payments collected into the treasury. Off unless turned on. */
  collection_events: boolean;
}

/**
 * An organisation's opt-in callback events. Refund and late-payment events are always sent; the
 * collection events are opt-in, so a receiver written for KryptoGO's status callbacks sees no
 * more than it must.
 */
export function createCallbackPreferences({ db }: { db: Kysely<Database> }) {
  async function get(orgId: number): Promise<CallbackPreferences> {
    const row = await db
      .selectFrom("organizations")
      .select("callback_collection_events")
      .where("id", "=", orgId)
      .executeTakeFirst();
    if (!row) throw notFound(`organization ${orgId} not found`);
    return { collection_events: row.callback_collection_events };
  }
  return {
    get,
    async set(orgId: number, changes: Partial<CallbackPreferences>): Promise<CallbackPreferences> {
      if (changes.collection_events !== undefined) {
        const updated = await db
          .updateTable("organizations")
          .set({ callback_collection_events: changes.collection_events })
          .where("id", "=", orgId)
          .executeTakeFirst();
        if (updated.numUpdatedRows === 0n) throw notFound(`organization ${orgId} not found`);
      }
      return get(orgId);
    },
  };
}

export type CallbackPreferencesService = ReturnType<typeof createCallbackPreferences>;
