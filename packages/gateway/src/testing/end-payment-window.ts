import { sql } from "kysely";
import { DEADLINES_TOPIC } from "../payments/lifecycle/deadline-wakeup.ts";
import type { DatabaseHandle } from "../platform/database/create-database.ts";
import { notify } from "../platform/database/notifications.ts";

/**
 * Ends an intent's payment window now, as its deadline passing would: the deadline moves to the
 * present, or to its latest payment's block when that is later, so that payment stays on time.
 *
 * Tests call it once they have seen what they wanted to see while the intent was pending (a
 * stream's first event, the page's pending screen). A short PAYMENT_TTL_SECONDS instead puts a
 * wall-clock deadline in a race with the test, which a busy machine loses. The deadline settler,
 * asleep until the deadline it knew, is woken as a create with a near deadline would wake it.
 */
export async function endPaymentWindow(database: DatabaseHandle, id: string): Promise<void> {
  await database.db
    .updateTable("payment_intents")
    .set({
      // greatest() skips the NULL of an intent without payments.
      payment_deadline: sql<Date>`greatest(now(), (select max(t.block_timestamp) from transfers t where t.payment_intent_id = ${id}))`,
    })
    .where("id", "=", id)
    .execute();
  await notify(database.db, DEADLINES_TOPIC);
}
