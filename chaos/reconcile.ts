import { runCli } from "../packages/gateway/src/testing/cli-process.ts";

export interface ReconcileOutcome {
  /** "ok", "differences", "not available yet", or "failed: …". */
  summary: string;
  ok: boolean;
}

/**
 * `stablegate reconcile --json`: {"ok": boolean, …}, exit 1 on differences. Until the command is
 * merged commander answers "unknown command", which is reported and not counted as a failure.
 */
export async function runReconcile(settings: Record<string, string>): Promise<ReconcileOutcome> {
  const r = await runCli(["reconcile", "--json"], settings, 300_000);
  if (/unknown command/i.test(r.stderr)) return { summary: "not available yet", ok: true };
  try {
    const json = JSON.parse(r.stdout) as { ok?: boolean };
    if (json.ok === true && r.code === 0) return { summary: "ok", ok: true };
    return { summary: `differences (exit ${r.code}): ${r.stdout.slice(0, 2_000)}`, ok: false };
  } catch {
    return { summary: `failed (exit ${r.code}): ${r.stderr.slice(0, 2_000)}`, ok: false };
  }
}
