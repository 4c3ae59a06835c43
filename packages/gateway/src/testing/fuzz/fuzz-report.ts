import type { OperationReport } from "./run-fuzz.ts";

/** One line per operation: requests, the statuses seen (×count), undocumented ones, failures. */
export function formatTable(reports: OperationReport[]): string {
  const rows = reports.map((r) => [
    r.id,
    String(r.requests),
    (r.ms / 1000).toFixed(1),
    [...r.statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(" "),
    [...r.undocumented].sort().join(" ") || "-",
    r.failure ? "1" : "0",
  ]);
  const header = ["operation", "requests", "seconds", "statuses", "undocumented", "failures"];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The shrunk counterexample, as a request one can send again. */
export function formatFailure(r: OperationReport): string {
  const f = r.failure;
  if (!f) return "";
  const body = f.request.body;
  const shownBody =
    body === undefined
      ? "(none)"
      : body.length > 2000
        ? `${JSON.stringify(body.slice(0, 2000))}… (${body.length} characters)`
        : JSON.stringify(body);
  return [
    `FAILED ${r.id}: ${f.message}`,
    `  variant:  ${f.variant}`,
    `  request:  ${f.request.method} ${f.request.path}`,
    `  headers:  ${JSON.stringify(f.request.headers)}`,
    `  body:     ${shownBody}`,
    `  answer:   ${f.status} ${f.response}`,
    `  replay:   npm run fuzz -- ${f.replay}`,
  ].join("\n");
}
