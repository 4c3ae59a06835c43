import type { Kysely } from "kysely";
import { notify } from "../../platform/database/notifications.ts";
import type { Database } from "../../platform/database/schema.ts";

/** Sent when an intent is created whose deadline may come before the settler's next look. */
export const DEADLINES_TOPIC = "deadlines";

/**
 * The longest the deadline settler sleeps while nothing is due: it looks again at the earliest
 * pending deadline it knows of, or after this long, whichever comes first.
 */
export const SETTLER_MAX_SLEEP_MS = 60_000;

/** Margin for the time between computing a deadline and the intent becoming visible (commit). */
const ANNOUNCE_MARGIN_MS = 5_000;

/**
 * Wakes the deadline settler (on any process) when a new intent's deadline may come before its
 * next look. A settler that last looked before this intent was committed looks again within
 * SETTLER_MAX_SLEEP_MS of that look, so only a deadline closer than that (a short
 * PAYMENT_TTL_SECONDS: tests, or an operator who sets one) needs the notification; at the
 * default 30 minutes none is sent, and creating an intent costs no statement more. Best effort
 * after the commit: a lost notification delays the settle by at most SETTLER_MAX_SLEEP_MS.
 */
export async function announceDeadline(
  db: Kysely<Database>,
  deadline: Date,
  now: Date,
): Promise<void> {
  if (deadline.getTime() - now.getTime() >= SETTLER_MAX_SLEEP_MS - ANNOUNCE_MARGIN_MS) return;
  await notify(db, DEADLINES_TOPIC).catch(() => {});
}
