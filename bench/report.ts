import path from "node:path";

// Output helpers shared by the benchmark scripts: how a run was started, and its tables.

/** A database URL fit to print: the password, if any, replaced. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return "(unparseable URL)";
  }
}

/** The command as typed (with the given env settings, DATABASE_URL redacted) and as node ran it. */
export function commandLine(envKeys: readonly string[]): { typed: string; node: string } {
  const env = envKeys.flatMap((k) => {
    const v = process.env[k];
    if (v === undefined || v === "") return [];
    return [`${k}=${k === "DATABASE_URL" ? redactUrl(v) : v}`];
  });
  const script = process.argv[1] ? path.relative(process.cwd(), process.argv[1]) : "?";
  const node = ["node", ...process.execArgv, script, ...process.argv.slice(2)].join(" ");
  const event = process.env.npm_lifecycle_event;
  const typed = event ? `npm run ${event}` : node;
  return { typed: [...env, typed].join(" "), node };
}

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** Columns padded to their widest cell; columns from `rightAligned` on are right-aligned. */
export function table(rows: string[][], rightAligned: number): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) =>
          i >= rightAligned ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
