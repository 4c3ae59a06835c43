import { CompiledQuery, type Kysely, type SelectQueryBuilder, sql } from "kysely";
import type { Database } from "../platform/database/schema.ts";
import { validationError } from "../platform/errors.ts";
import { toPaymentIntentView } from "./intent-wire.ts";
import type { ListPaymentIntentsQuery, PaymentIntentList } from "./schemas.ts";

// The KryptoGO list endpoint over any number of intents (docs/decisions.md, 2026-11-28: the list
// at a million intents). Every filter is an index range (migration 2026-12-01-list-indexes), the
// total is counted only up to LIST_COUNT_CAP, and pages are keyset underneath: a cursor page is
// one index descent, a page_number page skips its offset on ids alone before reading rows.

/** total_count is exact up to this many matches; above it, the planner's estimate. */
export const LIST_COUNT_CAP = 10_000;

/** The key of an intent in the list's order (newest first), microseconds included. */
const KEY_AT = sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const KEY_AT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ID_PATTERN = /^[0-9A-Za-z]{1,64}$/;

/** Opaque to clients: base64url of [created_at with microseconds, id] of a page's last item. */
export function encodeListCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString("base64url");
}

function decodeListCursor(raw: string): { at: string; id: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 2 &&
    typeof parsed[0] === "string" &&
    typeof parsed[1] === "string" &&
    KEY_AT_PATTERN.test(parsed[0]) &&
    !Number.isNaN(Date.parse(parsed[0])) &&
    ID_PATTERN.test(parsed[1])
  ) {
    return { at: parsed[0], id: parsed[1] };
  }
  throw validationError("cursor", "is not a next_cursor this endpoint returned");
}

type IntentQuery = SelectQueryBuilder<Database, "payment_intents", object>;

/** `explain (format json)`'s answer: json parsed by pg, text on some drivers. */
function planRows(plan: unknown): number {
  const doc = typeof plan === "string" ? JSON.parse(plan) : plan;
  const rows = (doc as [{ Plan?: { "Plan Rows"?: number } }] | undefined)?.[0]?.Plan?.["Plan Rows"];
  return typeof rows === "number" && Number.isFinite(rows) ? Math.round(rows) : 0;
}

export function createIntentList(options: { db: Kysely<Database> }) {
  const { db } = options;

  function filtered(orgId: number, q: ListPaymentIntentsQuery): IntentQuery {
    let query: IntentQuery = db.selectFrom("payment_intents").where("org_id", "=", orgId);
    if (q.client_id !== undefined) query = query.where("client_id", "=", q.client_id);
    if (q.status !== undefined && q.status.length > 0) {
      query = query.where("status", "in", q.status);
    }
    if (q.group_key !== undefined && q.group_key !== "") {
      // ILIKE with its wildcards escaped: % and _ typed by the merchant stay literal (as strpos
      // had them), and the trigram index serves it, which strpos(lower(...)) could not.
      const pattern = `%${q.group_key.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query = query.where(sql<boolean>`group_key ilike ${pattern}`);
    }
    return query;
  }

  /** At most LIST_COUNT_CAP + 1 matches are read; past the cap the planner estimates. */
  async function count(base: IntentQuery): Promise<{ n: number; exact: boolean }> {
    const counted = await db
      .selectFrom(
        base
          .select(sql.lit(1).as("one"))
          .limit(LIST_COUNT_CAP + 1)
          .as("capped"),
      )
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .executeTakeFirstOrThrow();
    const n = Number(counted.n);
    if (n <= LIST_COUNT_CAP) return { n, exact: true };
    const compiled = base.select("id").compile();
    const { rows } = await db.executeQuery<{ "QUERY PLAN": unknown }>(
      CompiledQuery.raw(`explain (format json) ${compiled.sql}`, [...compiled.parameters]),
    );
    return { n: Math.max(LIST_COUNT_CAP + 1, planRows(rows[0]?.["QUERY PLAN"])), exact: false };
  }

  return async function list(
    orgId: number,
    q: ListPaymentIntentsQuery,
  ): Promise<PaymentIntentList> {
    if (q.cursor !== undefined && q.page_number !== 1) {
      throw validationError("page_number", "cannot be combined with cursor");
    }
    const after = q.cursor === undefined ? undefined : decodeListCursor(q.cursor);
    const base = filtered(orgId, q);
    const offset = (q.page_number - 1) * q.page_size;
    // One row more than the page, to know whether another page follows.
    const take = q.page_size + 1;
    let page: IntentQuery;
    if (after) {
      page = base.where(
        sql<boolean>`(created_at, id) < (${after.at}::timestamptz, ${after.id})`,
      ) as IntentQuery;
    } else if (offset > 0) {
      // The offset is skipped on the index alone (ids, no rows read), then the page's rows are
      // fetched by id: OFFSET over whole rows reads every skipped row from the table.
      const ids = base
        .select("id")
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(take)
        .offset(offset);
      page = db.selectFrom("payment_intents").where("id", "in", ids) as IntentQuery;
    } else {
      page = base;
    }
    const [rows, total] = await Promise.all([
      page
        .selectAll()
        .select(KEY_AT.as("key_at"))
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(take)
        .execute(),
      count(base),
    ]);
    const items = rows.slice(0, q.page_size);
    const last = items.at(-1);
    const more = rows.length > q.page_size;
    // An estimate never below what this page has shown to exist.
    const seen = (after ? 0 : offset) + rows.length;
    return {
      items: items.map(toPaymentIntentView),
      total_count: total.exact ? total.n : Math.max(total.n, seen),
      page_number: q.page_number,
      page_size: q.page_size,
      next_cursor: more && last ? encodeListCursor(last.key_at, last.id) : null,
      total_count_exact: total.exact,
    };
  };
}
