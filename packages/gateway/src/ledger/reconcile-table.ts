import type { ReconcileReport } from "./reconcile.ts";

/** The report as a person reads it in a terminal: the block per chain, then what differs. */
export function formatReconcileReport(report: ReconcileReport): string {
  const lines: string[] = [];
  for (const c of report.chains) {
    lines.push(
      `${c.chain}: ${c.block === null ? (c.note ?? "not reconciled") : `at block ${c.block}`}`,
    );
  }
  const compared = report.accounts.filter((a) => a.compared);
  const differing = compared.filter((a) => a.difference !== "0");
  const unreadable = report.accounts.filter((a) => a.error !== undefined && !a.compared);
  lines.push(
    `${compared.length} accounts compared with the chain, ${differing.length} differ; ${report.intents.length} intents checked`,
  );
  if (differing.length > 0) {
    lines.push(
      "",
      "kind      address                                     asset       ledger    on chain  difference",
    );
    for (const a of differing) {
      lines.push(
        [
          a.kind.padEnd(9),
          a.address.padEnd(43),
          (a.asset === "native" ? "native" : `${a.asset.slice(0, 8)}…`).padEnd(11),
          a.ledger.padStart(9),
          (a.onchain ?? "?").padStart(11),
          (a.difference ?? "?").padStart(11),
        ].join(" "),
      );
      if (a.error) lines.push(`    could not read the chain: ${a.error}`);
      for (const e of a.entries ?? []) {
        lines.push(`    entry ${e.id} ${e.kind} block ${e.block}: ${e.amount} (${e.ref})`);
      }
    }
  }
  for (const a of unreadable) {
    lines.push(`not read (nothing in the ledger): ${a.kind} ${a.address} ${a.asset}: ${a.error}`);
  }
  for (const i of report.intents.filter((x) => x.problems.length > 0)) {
    lines.push(`intent ${i.payment_intent_id}: ${i.problems.join("; ")}`);
  }
  for (const u of report.unbalanced_entries) {
    lines.push(
      `entry ${u.id} (${u.ref}) does not balance: its ${u.asset} postings sum to ${u.sum}`,
    );
  }
  lines.push(report.ok ? "reconciled: no difference" : `${report.differences} difference(s)`);
  return lines.join("\n");
}
