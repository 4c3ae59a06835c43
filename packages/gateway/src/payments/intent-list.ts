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
    // A date the database reads as written: JS rolls 02-31 over and takes year 0, it refuses both.
    parsed[0] >= "1970" &&
    !Number.isNaN(Date.parse(parsed[0])) &&
    new Date(parsed[0]).toISOString().slice(0, 19) === parsed[0].slice(0, 19) &&
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

/**
 * A group_key search reads each matching key's own index range, merged, when the text matches
 * at most this many of the organisation's distinct keys; past that, the intents' trigram index
 * or a walk newest first filtered by ILIKE (the planner chooses).
 */
export const LIST_GROUP_KEY_BRANCHES = 20;

const newestFirst = <Q extends IntentQuery>(query: Q) =>
  query.orderBy("created_at", "desc").orderBy("id", "desc") as Q;

export function createIntentList(options: { db: Kysely<Database> }) {
  const { db } = options;

  /** The organisation's distinct keys containing `text`; undefined when there are too many. */
  async function groupKeysContaining(orgId: number, pattern: string) {
    const rows = await db
      .selectFrom("payment_intent_group_keys")
      .select("group_key")
      .where("org_id", "=", orgId)
      .where(sql<boolean>`group_key ilike ${pattern}`)
      .limit(LIST_GROUP_KEY_BRANCHES + 1)
      .execute();
    return rows.length > LIST_GROUP_KEY_BRANCHES ? undefined : rows.map((r) => r.group_key);
  }

  /** The filters but group_key's, and group_key as `keys` (exactly) or `pattern` (ILIKE). */
  function filtered(
    orgId: number,
    q: ListPaymentIntentsQuery,
    group: { keys: string[] } | { pattern: string } | undefined,
  ): IntentQuery {
    let query: IntentQuery = db.selectFrom("payment_intents");
    if (q.client_id === undefined) {
      query = query.where("org_id", "=", orgId);
    } else {
      // A client is in one organisation: asked once of clients (a one-time filter), not of each
      // intent, so the client's indexes answer without reading rows.
      const clientId = q.client_id;
      query = query
        .where("client_id", "=", clientId)
        .where(({ exists, selectFrom }) =>
          exists(
            selectFrom("clients")
              .select(sql.lit(1).as("one"))
              .where("client_id", "=", clientId)
              .where("org_id", "=", orgId),
          ),
        );
    }
    if (q.status !== undefined && q.status.length > 0) {
      query = query.where("status", "in", q.status);
    }
    if (group !== undefined && "keys" in group) {
      query =
        group.keys.length === 0
          ? query.where(sql<boolean>`false`)
          : query.where("group_key", "in", group.keys);
    } else if (group !== undefined) {
      query = query.where(sql<boolean>`group_key ilike ${group.pattern}`);
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
    let group: { keys: string[] } | { pattern: string } | undefined;
    if (q.group_key !== undefined && q.group_key !== "") {
      // ILIKE with its wildcards escaped: % and _ typed by the merchant stay literal (as strpos
      // had them), and trigram indexes serve it, which strpos(lower(...)) could not.
      const pattern = `%${q.group_key.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const keys = await groupKeysContaining(orgId, pattern);
      group = keys === undefined ? { pattern } : { keys };
    }
    const base = filtered(orgId, q, group);
    const offset = after ? 0 : (q.page_number - 1) * q.page_size;
    // One row more than the page, to know whether another page follows.
    const take = q.page_size + 1;
    const from = <Q extends IntentQuery>(query: Q) =>
      after
        ? (query.where(
            sql<boolean>`(created_at, id) < (${after.at}::timestamptz, ${after.id})`,
          ) as Q)
        : query;
    // The page's ids first, from the indexes alone (an offset skips index entries, not rows);
    // then the rows of those ids. Several group keys: each key's range newest first, merged.
    let page: IntentQuery;
    if (group !== undefined && "keys" in group && group.keys.length > 1) {
      const branches = group.keys.map((key) =>
        newestFirst(
          from(filtered(orgId, q, { keys: [key] }))
            .select(["id", "created_at"])
            .limit(offset + take),
        ),
      );
      page = db.selectFrom("payment_intents").where(
        sql<boolean>`id in (select id from (${sql.join(branches, sql` union all `)}) as merged
          order by created_at desc, id desc limit ${take} offset ${offset})`,
      );
    } else {
      const ids = newestFirst(from(base).select("id")).limit(take).offset(offset);
      page = db.selectFrom("payment_intents").where("id", "in", ids);
    }
    const [rows, total] = await Promise.all([
      newestFirst(page).selectAll().select(KEY_AT.as("key_at")).execute(),
      count(base),
    ]);
    const items = rows.slice(0, q.page_size);
    const last = items.at(-1);
    const more = rows.length > q.page_size;
    return {
      items: items.map(toPaymentIntentView),
      // An estimate is never below what this page has shown to exist.
      total_count:
        total.exact || rows.length === 0 ? total.n : Math.max(total.n, offset + rows.length),
      page_number: q.page_number,
      page_size: q.page_size,
      next_cursor: more && last ? encodeListCursor(last.key_at, last.id) : null,
      total_count_exact: total.exact,
    };
  };
}
