import type { Kysely } from "kysely";
import type { Database } from "../platform/database/schema.ts";

/** Who made a change: a signed-in user (with the address of the request) or the CLI. */
export type Actor =
  | { kind: "user"; userId: number; email: string; ip: string | null }
  | { kind: "cli" };

export interface AuditEntry {
  orgId: number | null;
  /** Dotted, past tense: `api_key.created`, `member.role_changed`, `treasury.address_changed`. */
  action: string;
  /** What was changed, e.g. `api_key:12`. */
  target?: string;
  /** The changed fields before and after; never a secret (the caller leaves them out). */
  before?: unknown;
  after?: unknown;
}

/**
 * Appends one row to the audit log. Call it with the transaction that makes the change, so the
 * change and its record commit together. The table refuses UPDATE and DELETE (a trigger).
 */
export async function recordAudit(
  db: Kysely<Database>,
  actor: Actor,
  entry: AuditEntry,
): Promise<void> {
  await db
    .insertInto("audit_log")
    .values({
      org_id: entry.orgId,
      actor_user_id: actor.kind === "user" ? actor.userId : null,
      actor: actor.kind === "user" ? actor.email : "cli",
      action: entry.action,
      target: entry.target ?? null,
      before: entry.before === undefined ? null : JSON.stringify(entry.before),
      after: entry.after === undefined ? null : JSON.stringify(entry.after),
      ip: actor.kind === "user" ? actor.ip : null,
    })
    .execute();
}

/** One page of the audit log, of one organisation or (orgId undefined) of all. */
export async function readAuditLog(
  db: Kysely<Database>,
  orgId: number | undefined,
  page: { page_number: number; page_size: number },
) {
  const base = db
    .selectFrom("audit_log")
    .$if(orgId !== undefined, (q) => q.where("org_id", "=", orgId as number));
  const [rows, count] = await Promise.all([
    base
      .select(["id", "org_id", "actor", "action", "target", "before", "after", "ip", "created_at"])
      .orderBy("id", "desc")
      .limit(page.page_size)
      .offset((page.page_number - 1) * page.page_size)
      .execute(),
    base.select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow(),
  ]);
  return {
    items: rows.map((r) => ({
      ...r,
      id: String(r.id),
      created_at: new Date(r.created_at).toISOString(),
    })),
    total_count: Number(count.n),
    page_number: page.page_number,
    page_size: page.page_size,
  };
}
