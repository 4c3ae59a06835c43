import { parseArgs } from "node:util";
import { formatFailure, formatTable } from "./fuzz-report.ts";
import { startFuzzWorld } from "./fuzz-world.ts";
import { runFuzz } from "./run-fuzz.ts";

// npm run fuzz -- [--runs N] [--seed S] [--operation 'POST /v1/…']
// Property-based requests against every operation of a gateway started in this process
// (docs/reliability.md#fuzzing). Exits 1 on any failure, with the shrunk request to replay.

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "100" },
    seed: { type: "string" },
    operation: { type: "string" },
  },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a whole number ≥ 1, not ${values.runs}`);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, not ${values.seed}`);

console.log(
  `fuzz: seed ${seed}, ${runs} runs per operation${values.operation ? `, operations matching ${values.operation}` : ""}`,
);
const started = performance.now();
const world = await startFuzzWorld();
let failed = 0;
try {
  const reports = await runFuzz(world, {
    runs,
    seed,
    ...(values.operation === undefined ? {} : { operation: values.operation }),
    onReport: (r) => {
      const statuses = [...r.statuses]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}×${n}`)
        .join(" ");
      console.log(`  ${r.failure ? "FAIL" : "ok  "} ${r.id}  ${r.requests} requests  ${statuses}`);
    },
  });
  console.log(`\n${formatTable(reports)}`);
  for (const r of reports.filter((r) => r.failure)) {
    failed += 1;
    console.log(`\n${formatFailure(r)}`);
  }
  const requests = reports.reduce((n, r) => n + r.requests, 0);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `\n${reports.length} operations, ${requests} requests in ${seconds.toFixed(0)} s (seed ${seed}): ${failed === 0 ? "no failure" : `${failed} operation(s) failed`}`,
  );
} finally {
  await world.close();
}
process.exit(failed === 0 ? 0 : 1);
