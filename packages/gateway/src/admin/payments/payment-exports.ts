import { WithdrawalView } from "../../payouts/withdrawal-schemas.ts";
import type { WithdrawalService } from "../../payouts/withdrawal-service.ts";
import { AdminPayment, edgeOf, type PaymentSearch } from "./payment-search.ts";

type Range = { from?: string | undefined; to?: string | undefined };

/** A value as a CSV cell: what the API's JSON says, with null empty and objects as JSON. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** The payments list's fields, in its order, one row per intent created in the range. */
export function paymentRows(search: PaymentSearch, orgId: number, range: Range) {
  const header = Object.keys(AdminPayment.shape);
  async function* rows() {
    for await (const p of search.all(orgId, range)) {
      const record = p as Record<string, unknown>;
      yield header.map((k) => cell(record[k]));
    }
  }
  return { header, rows: rows() };
}

/** The withdrawals list's fields, in its order, one row per withdrawal created in the range. */
export function withdrawalRows(withdrawals: WithdrawalService, orgId: number, range: Range) {
  const header = Object.keys(WithdrawalView.shape);
  async function* rows() {
    const edges = {
      ...(range.from === undefined ? {} : { from: edgeOf(range.from, "from") }),
      ...(range.to === undefined ? {} : { to: edgeOf(range.to, "to") }),
    };
    for await (const w of withdrawals.all(orgId, edges)) {
      const record = w as Record<string, unknown>;
      yield header.map((k) => cell(record[k]));
    }
  }
  return { header, rows: rows() };
}
