import { z } from "@hono/zod-openapi";
import { type Kysely, type Selectable, type SelectQueryBuilder, sql } from "kysely";
import { PageQuery } from "../../http/openapi.ts";
import { toPaymentIntentView } from "../../payments/intent-wire.ts";
import type { PaymentStatus } from "../../payments/lifecycle/decide.ts";
import { PAYMENT_STATUSES } from "../../payments/lifecycle/decide.ts";
import { GROUP_KEY_MAX_CHARS, PaymentIntent } from "../../payments/schemas.ts";
import type { Database, PaymentIntentsTable } from "../../platform/database/schema.ts";

/** A page's total is counted up to this; above it the answer says `total_count_capped`. */
export const COUNT_CAP = 10_000;

const toArray = (v: unknown) =>
  v === undefined
    ? undefined
    : (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(",")).filter((s) => s !== "");

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** "2026-11-27" (a whole UTC day) or an ISO 8601 date-time with its offset. */
function instant(edge: "from" | "to") {
  return z
    .string()
    .refine(
      (s) =>
        (DATE.test(s) || z.iso.datetime({ offset: true }).safeParse(s).success) &&
        !Number.isNaN(Date.parse(s)),
      "must be a date (2026-11-27) or an ISO 8601 date-time with offset (2026-11-27T10:00:00Z)",
    )
    .optional()
    .openapi({
      description:
        edge === "from"
          ? "Created at or after: a date (00:00 UTC that day) or an ISO 8601 date-time."
          : "Created before: a date includes that whole UTC day; a date-time is exclusive.",
      example: edge === "from" ? "2026-11-01" : "2026-11-30",
    });
}

/** Where a `from`/`to` value starts or ends, as an instant: a `to` date means the next midnight. */
export function edgeOf(value: string, edge: "from" | "to"): Date {
  const at = new Date(DATE.test(value) ? `${value}T00:00:00Z` : value);
  if (edge === "to" && DATE.test(value)) at.setUTCDate(at.getUTCDate() + 1);
  return at;
}

export const DateRange = z.object({ from: instant("from"), to: instant("to") });

/** `from` must not be after `to` (a refinement both the list and the exports apply). */
export function rangeProblem(q: { from?: string | undefined; to?: string | undefined }) {
  if (q.from === undefined || q.to === undefined) return undefined;
  return edgeOf(q.from, "from") >= edgeOf(q.to, "to") ? "must be before to" : undefined;
}

export const PAYMENT_SORTS = ["created_at", "-created_at", "fiat_amount", "-fiat_amount"] as const;

const hex = (name: string) =>
  z
    .string()
    .regex(/^0x[0-9a-fA-F]{1,64}$/, `must be a 0x-prefixed hex ${name}`)
    .optional();

export const PaymentSearchQuery = PageQuery.extend({
  status: z
    .preprocess(
      toArray,
      // One message for the whole parameter (not "status.1"): the field is what the caller typed.
      z
        .array(z.string())
        .refine((v) => v.every((s) => (PAYMENT_STATUSES as readonly string[]).includes(s)), {
          message: `must be one or more of ${PAYMENT_STATUSES.join(", ")}`,
        })
        .transform((v) => v as PaymentStatus[])
        .optional(),
    )
    .openapi({
      description: "Repeatable or comma-separated: status=pending,success",
      type: "array",
      items: { type: "string", enum: [...PAYMENT_STATUSES] },
    }),
  ...DateRange.shape,
  group_key: z.string().max(GROUP_KEY_MAX_CHARS).optional().openapi({
    description: "Substring of the group key, case-insensitive; % and _ match themselves.",
  }),
  client_id: z.string().max(64).optional(),
  order_id: z.string().max(255).optional().openapi({
    description:
      'Exactly order_data.order_id, or order_data.orderId when there is no order_id (as text: a number 12 matches "12").',
  }),
  address: hex("address").openapi({
    description: "The deposit address or the payer's address, any letter case.",
  }),
  tx_hash: hex("transaction hash").openapi({
    description: "The payment's transaction, or any transfer to the deposit address.",
  }),
  sort: z.enum(PAYMENT_SORTS).default("-created_at"),
}).superRefine((q, ctx) => {
  const problem = rangeProblem(q);
  if (problem) ctx.addIssue({ code: "custom", path: ["from"], message: problem });
});
export type PaymentSearchQuery = z.infer<typeof PaymentSearchQuery>;

export const AdminPayment = PaymentIntent.extend({
  created_at: z.string().openapi({ description: "ISO 8601" }),
  reversed_at: z.string().nullable().openapi({
    description: "When a deep reorg took back a transfer of this decided payment (ISO 8601).",
  }),
  reversal_reason: z.string().nullable(),
}).openapi("AdminPayment");
export type AdminPayment = z.infer<typeof AdminPayment>;

export function toAdminPayment(row: Selectable<PaymentIntentsTable>): AdminPayment {
  return {
    ...toPaymentIntentView(row),
    created_at: row.created_at.toISOString(),
    reversed_at: row.reversed_at ? row.reversed_at.toISOString() : null,
    reversal_reason: row.reversal_reason,
  };
}

type IntentQuery = SelectQueryBuilder<Database, "payment_intents", object>;

/**
 * Studio's search over one organisation's intents. Each filter is one of the indexes of
 * migration 2026-11-27-studio-payments; the total is counted only up to COUNT_CAP, so a page
 * never costs a scan of everything the filters match.
 */
export function createPaymentSearch(options: { db: Kysely<Database> }) {
  const { db } = options;

  async function filtered(
    orgId: number,
    q: Omit<PaymentSearchQuery, "page_number" | "page_size" | "sort">,
  ) {
    let query: IntentQuery = db.selectFrom("payment_intents").where("org_id", "=", orgId);
    if (q.status && q.status.length > 0) query = query.where("status", "in", q.status);
    if (q.from !== undefined) query = query.where("created_at", ">=", edgeOf(q.from, "from"));
    if (q.to !== undefined) query = query.where("created_at", "<", edgeOf(q.to, "to"));
    if (q.client_id !== undefined) query = query.where("client_id", "=", q.client_id);
    if (q.group_key !== undefined && q.group_key !== "") {
      const pattern = `%${q.group_key.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query = query.where(sql<boolean>`group_key ilike ${pattern}`);
    }
    if (q.order_id !== undefined) {
      query = query.where(
        sql<string>`coalesce(order_data->>'order_id', order_data->>'orderId')`,
        "=",
        q.order_id,
      );
    }
    if (q.address !== undefined) {
      const address = q.address.toLowerCase();
      query = query.where((eb) =>
        eb.or([
          eb(sql<string>`lower(payment_address)`, "=", address),
          eb(sql<string>`lower(payer_address)`, "=", address),
        ]),
      );
    }
    if (q.tx_hash !== undefined) {
      // The ids first (a handful, from two small index lookups), so the page query stays one
      // index range instead of an OR over a subquery.
      const hash = q.tx_hash.toLowerCase();
      const [byTransfer, byPayment] = await Promise.all([
        db
          .selectFrom("transfers")
          .select("payment_intent_id as id")
          .where(sql<string>`lower(tx_hash)`, "=", hash)
          .execute(),
        db
          .selectFrom("payment_intents")
          .select("id")
          .where(sql<string>`lower(payment_tx_hash)`, "=", hash)
          .where("payment_tx_hash", "is not", null)
          .execute(),
      ]);
      const ids = [...new Set([...byTransfer, ...byPayment].map((r) => r.id))];
      query = ids.length === 0 ? query.where(sql<boolean>`false`) : query.where("id", "in", ids);
    }
    return query;
  }

  function ordered<O>(
    query: SelectQueryBuilder<Database, "payment_intents", O>,
    sort: PaymentSearchQuery["sort"],
  ) {
    const direction = sort.startsWith("-") ? "desc" : "asc";
    if (sort.endsWith("fiat_amount")) {
      return query.orderBy(sql`fiat_amount::numeric`, direction).orderBy("id", direction);
    }
    return query.orderBy("created_at", direction).orderBy("id", direction);
  }

  /** The page's query and the capped count's, built (not run). */
  async function queries(orgId: number, q: PaymentSearchQuery) {
    const base = await filtered(orgId, q);
    const offset = (q.page_number - 1) * q.page_size;
    // A deep page skips its offset on index entries (ids), not on whole rows read from the table
    // (the KryptoGO list does the same: payments/intent-list.ts).
    const ids = ordered(base.select("id"), q.sort).limit(q.page_size).offset(offset);
    return {
      page:
        offset === 0
          ? ordered(base.selectAll(), q.sort).limit(q.page_size)
          : ordered(db.selectFrom("payment_intents").where("id", "in", ids).selectAll(), q.sort),
      count: db
        .selectFrom(
          base
            .select(sql.lit(1).as("one"))
            .limit(COUNT_CAP + 1)
            .as("capped"),
        )
        .select((eb) => eb.fn.countAll<string>().as("n")),
    };
  }

  return {
    async list(orgId: number, q: PaymentSearchQuery) {
      const { page, count } = await queries(orgId, q);
      const [rows, counted] = await Promise.all([page.execute(), count.executeTakeFirstOrThrow()]);
      const n = Number(counted.n);
      return {
        items: rows.map(toAdminPayment),
        total_count: Math.min(n, COUNT_CAP),
        total_count_capped: n > COUNT_CAP,
        page_number: q.page_number,
        page_size: q.page_size,
      };
    },

    /** The SQL a list runs, for the benchmark's EXPLAIN. */
    async statements(orgId: number, q: PaymentSearchQuery) {
      const { page, count } = await queries(orgId, q);
      return { page: page.compile(), count: count.compile() };
    },

    /** Every match, oldest first, in batches (for the CSV export): keyset, never OFFSET. */
    async *all(orgId: number, range: { from?: string | undefined; to?: string | undefined }) {
      const batch = 1000;
      // The key's time as the database's text: a JS Date drops the microseconds.
      let after: { at: string; id: string } | undefined;
      for (;;) {
        let query = (await filtered(orgId, range))
          .selectAll()
          .select(sql<string>`created_at::text`.as("key_at"));
        if (after) {
          const { at, id } = after;
          query = query.where(sql<boolean>`(created_at, id) > (${at}::timestamptz, ${id})`);
        }
        const rows = await query.orderBy("created_at").orderBy("id").limit(batch).execute();
        for (const row of rows) yield toAdminPayment(row);
        const last = rows.at(-1);
        if (rows.length < batch || !last) return;
        after = { at: last.key_at, id: last.id };
      }
    },
  };
}

export type PaymentSearch = ReturnType<typeof createPaymentSearch>;
