import type { ReconcileReport } from "../packages/gateway/src/ledger/reconcile.ts";
import { runCli } from "../packages/gateway/src/testing/cli-process.ts";

export interface ReconcileOutcome {
  /** "ok: …" with what was compared, or what differs. */
  summary: string;
  ok: boolean;
}

/** `stablegate reconcile --json` against the run's database and chain: exit 1 on a difference. */
export async function runReconcile(settings: Record<string, string>): Promise<ReconcileOutcome> {
  const r = await runCli(["reconcile", "--json"], settings, 300_000);
  let report: ReconcileReport;
  try {
    report = JSON.parse(r.stdout) as ReconcileReport;
  } catch {
    return { summary: `failed (exit ${r.code}): ${r.stderr.slice(0, 2_000)}`, ok: false };
  }
  const compared = report.accounts.filter((a) => a.compared);
  const at = report.chains.map((c) => `${c.chain} at block ${c.block ?? "-"}`).join(", ");
  if (report.ok && r.code === 0) {
    return {
      summary: `ok: ${compared.length} accounts and ${report.intents.length} intents agree with the chain (${at})`,
      ok: true,
    };
  }
  const differing = [
    ...compared
      .filter((a) => a.difference !== "0")
      .map((a) => `${a.kind} ${a.address} ${a.asset}: ledger ${a.ledger}, chain ${a.onchain}`),
    ...report.intents
      .filter((i) => i.problems.length > 0)
      .map((i) => `intent ${i.payment_intent_id}: ${i.problems.join("; ")}`),
    ...report.unbalanced_entries.map((u) => `entry ${u.ref} does not balance (${u.sum})`),
  ];
  return {
    summary: `${report.differences} difference(s) (exit ${r.code}, ${at}): ${differing.slice(0, 20).join(" | ")}`,
    ok: false,
  };
}
