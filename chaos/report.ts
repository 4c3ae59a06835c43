import type { ChainTally, CheckResult, ScenarioTally } from "./checks.ts";

export interface ChaosReport {
  intents: number;
  payouts: number;
  scenarios: ScenarioTally[];
  callbacks: { delivered: number; failedAttempts: number; badSignatures: number };
  chain: ChainTally[];
  duplicates: number;
  kills: Array<{ name: string; downMs: number }>;
  outage: string;
  reorg: string;
  reconcile: string;
  apiRetries: string;
  phases: Array<[string, number]>;
  wallMs: number;
  checks: CheckResult[];
}

const MAX_PROBLEMS = 15;

function table(head: string[], rows: Array<Array<string | number>>): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...cells.slice(1).map(line)].join(
    "\n",
  );
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The run's outcome as markdown tables (they paste into docs/reliability.md as they are). */
export function formatReport(r: ChaosReport): string {
  const downs = r.kills.map((k) => k.downMs);
  const out = [
    `## chaos: ${r.intents} intents, ${r.payouts} payouts`,
    "",
    table(
      ["scenario", "expected", "got"],
      r.scenarios.map((s) => [s.scenario, s.expected, s.got]),
    ),
    "",
    table(
      ["on chain", "meant (db)", "mined", "extra"],
      r.chain.map((c) => [c.purpose, c.meant, c.onChain, c.extra]),
    ),
    "",
    table(
      ["", ""],
      [
        ["callbacks delivered (events)", r.callbacks.delivered],
        ["failed attempts (500, timeout, closed)", r.callbacks.failedAttempts],
        ["bad signatures", r.callbacks.badSignatures],
        [
          "kills (-9, then restart)",
          `${r.kills.length}${downs.length ? `, back on /healthz after ${seconds(Math.min(...downs))}–${seconds(Math.max(...downs))}` : ""}`,
        ],
        ["RPC outage", r.outage],
        ["reorg", r.reorg],
        ["API requests sent again", r.apiRetries],
        ["duplicate sends found", r.duplicates],
        ["reconcile", r.reconcile],
        ...r.phases.map(([name, ms]): [string, string] => [name, seconds(ms)]),
        ["wall time", seconds(r.wallMs)],
      ],
    ),
    "",
  ];
  for (const c of r.checks) {
    out.push(`${c.ok ? "PASS" : "FAIL"} ${c.name}`);
    for (const p of c.problems.slice(0, MAX_PROBLEMS)) out.push(`    ${p}`);
    if (c.problems.length > MAX_PROBLEMS)
      out.push(`    … and ${c.problems.length - MAX_PROBLEMS} more`);
  }
  return out.join("\n");
}
