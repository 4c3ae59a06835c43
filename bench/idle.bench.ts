/**
 * The statements a gateway sends while nothing happens: no request, no chain followed, nothing
 * pending. Every background loop at its default settings (deadline settler, callback dispatcher,
 * tx managers, treasury and sweep work, lease renewals), counted by wrapping both drivers'
 * `query` (bench/lifecycle/statement-timer.ts) over BENCH_IDLE_SECONDS after a warm-up.
 *
 *   npm run bench:idle                                   (PGlite in a temp dir)
 *   DATABASE_URL=postgres://... npm run bench:idle       (schema bench_idle_*, dropped)
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as wait } from "node:timers/promises";
import { mnemonicToSeedSync } from "@scure/bip39";
import { pino } from "pino";
import { startGateway } from "../packages/gateway/src/gateway.ts";
import { loadConfig } from "../packages/gateway/src/platform/config.ts";
import { createDatabase } from "../packages/gateway/src/platform/database/create-database.ts";
import { dropSchema } from "../packages/gateway/src/testing/test-database.ts";
import { envDatabaseUrl, envNumber } from "./env-settings.ts";
import { instrumentStatements } from "./lifecycle/statement-timer.ts";
import { commandLine, fmt, printRunHeader, table } from "./report.ts";

const IDLE_SECONDS = envNumber("BENCH_IDLE_SECONDS", 120, 1);
const WARMUP_SECONDS = 10;
const DATABASE_URL = envDatabaseUrl();

const statements = instrumentStatements();
const schema = `bench_idle_${randomBytes(4).toString("hex")}`;
const dir = DATABASE_URL ? undefined : await mkdtemp(path.join(os.tmpdir(), "stablegate-idle-"));
const database = DATABASE_URL
  ? await createDatabase({ url: DATABASE_URL, schema })
  : await createDatabase({ dataDir: path.join(dir as string, "pglite") });
printRunHeader(
  "Stablegate idle statements",
  commandLine(["BENCH_IDLE_SECONDS"]),
  DATABASE_URL ? `PostgreSQL, schema ${schema}, dropped at the end` : "PGlite in a temp dir",
  [`window:      ${IDLE_SECONDS} s after ${WARMUP_SECONDS} s of warm-up; no chain, no request`],
);
const gateway = await startGateway({
  config: loadConfig({}, { PORT: 0, HOST: "127.0.0.1", LOG_LEVEL: "warn" }),
  log: pino({ level: "warn" }),
  seed: mnemonicToSeedSync("test test test test test test test test test test test junk"),
  database,
});
try {
  await wait(WARMUP_SECONDS * 1000);
  const before = new Map([...statements.byText].map(([t, e]) => [t, e.count]));
  await wait(IDLE_SECONDS * 1000);
  const rows = [...statements.byText]
    .map(([text, e]) => ({ text, count: e.count - (before.get(text) ?? 0) }))
    .filter((r) => r.count > 0)
    .sort((a, b) => b.count - a.count);
  const total = rows.reduce((sum, r) => sum + r.count, 0);
  console.log(
    table(
      [
        ["statement", "count", "per second"],
        ...rows.map((r) => [r.text.slice(0, 100), String(r.count), fmt(r.count / IDLE_SECONDS, 3)]),
        ["in all", String(total), fmt(total / IDLE_SECONDS, 3)],
      ],
      1,
    ),
  );
  console.log(
    `load average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")}`,
  );
} finally {
  await gateway.stop();
  await database.close();
  if (DATABASE_URL) await dropSchema(DATABASE_URL, schema);
  if (dir) await rm(dir, { recursive: true, force: true });
}
process.exit(0);
