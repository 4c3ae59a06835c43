import os from "node:os";
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

/**
 * The opening lines of a report: what ran, where, on what, and how busy the machine was; then
 * `extra` lines of the benchmark's own and a blank line.
 */
export function printRunHeader(
  title: string,
  cmd: { typed: string; node: string },
  database: string,
  extra: string[],
): void {
  console.log(title);
  console.log(`command:     ${cmd.typed}`);
  if (cmd.typed !== cmd.node) console.log(`runs:        ${cmd.node}`);
  console.log(`date:        ${new Date().toISOString()}`);
  console.log(`node:        ${process.version} (${process.platform}/${process.arch})`);
  console.log(`cpus:        ${os.availableParallelism()} x ${os.cpus()[0]?.model.trim() ?? "?"}`);
  // Other work on a shared machine moves the absolute figures; the load average shows how much.
  const loadavg = os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(" ");
  console.log(`load avg:    ${loadavg} (1, 5, 15 min, at start)`);
  console.log(`database:    ${database}`);
  for (const line of extra) console.log(line);
  console.log("");
}
