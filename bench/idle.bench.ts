/**
 * The statements a gateway sends while nothing happens: no request, no chain followed, nothing
 * pending. Every background loop at its default settings (deadline settler, callback dispatcher,
 * tx managers, treasury and sweep work, lease renewals), counted by wrapping both drivers'
 * `query` (bench/lifecycle/statement-timer.ts) over BENCH_IDLE_SECONDS after a warm-up.
 *
 *   npm run bench:idle                                   (PGlite in a temp dir)
 *   DATABASE_URL=postgres://... npm run bench:idle       (schema bench_idle_*, dropped)
 *   BENCH_IDLE_CHAIN=1 npm run bench:idle                (also follows a quiet local chain)
 *
 * With BENCH_IDLE_CHAIN=1 the gateway follows an anvil chain (eip7702, so its sweep batcher and
 * tx manager run too) that mines only during the warm-up (the sweeper's deployment is confirmed),
 * then no more: the loops a chain adds, while nothing happens on it.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as wait } from "node:timers/promises";
import { mnemonicToSeedSync } from "@scure/bip39";
import { pino } from "pino";
import { createTestClient, http, parseEther } from "viem";
import { startGateway } from "../packages/gateway/src/gateway.ts";
import { loadConfig } from "../packages/gateway/src/platform/config.ts";
import { createDatabase } from "../packages/gateway/src/platform/database/create-database.ts";
import { chainOn } from "../packages/gateway/src/testing/lifecycle-shop.ts";
import { startManualChain } from "../packages/gateway/src/testing/manual-chain.ts";
import { dropSchema } from "../packages/gateway/src/testing/test-database.ts";
import { envDatabaseUrl, envNumber } from "./env-settings.ts";
import { instrumentStatements } from "./lifecycle/statement-timer.ts";
import { commandLine, fmt, printRunHeader, table } from "./report.ts";

const IDLE_SECONDS = envNumber("BENCH_IDLE_SECONDS", 120, 1);
const WARMUP_SECONDS = 10;
const DATABASE_URL = envDatabaseUrl();
const WITH_CHAIN = process.env.BENCH_IDLE_CHAIN === "1";

const statements = instrumentStatements();
const schema = `bench_idle_${randomBytes(4).toString("hex")}`;
const dir = DATABASE_URL ? undefined : await mkdtemp(path.join(os.tmpdir(), "stablegate-idle-"));
const database = DATABASE_URL
  ? await createDatabase({ url: DATABASE_URL, schema })
  : await createDatabase({ dataDir: path.join(dir as string, "pglite") });
printRunHeader(
  "Stablegate idle statements",
  commandLine(["BENCH_IDLE_SECONDS", "BENCH_IDLE_CHAIN"]),
  DATABASE_URL ? `PostgreSQL, schema ${schema}, dropped at the end` : "PGlite in a temp dir",
  [
    `window:      ${IDLE_SECONDS} s after ${WARMUP_SECONDS} s of warm-up; ${WITH_CHAIN ? "a quiet local chain (eip7702)" : "no chain"}, no request`,
  ],
);
const chain = WITH_CHAIN ? await startManualChain() : undefined;
const gateway = await startGateway({
  config: loadConfig({}, { PORT: 0, HOST: "127.0.0.1", LOG_LEVEL: "warn" }),
  log: pino({ level: "warn" }),
  seed: mnemonicToSeedSync("test test test test test test test test test test test junk"),
  database,
  ...(chain
    ? {
        extraChains: [chainOn(chain, "local", { gasStrategy: "eip7702", pollingIntervalMs: 2000 })],
      }
    : {}),
});
try {
  // The gas wallet pays for the sweeper's deployment, as an operator's would.
  if (chain) {
    await createTestClient({ mode: "anvil", transport: http(chain.chain.rpcUrl) }).setBalance({
      address: gateway.services.wallets.gasWallet().address,
      value: parseEther("10"),
    });
  }
  // A block a second during the warm-up: the sweeper's deployment is mined and confirmed.
  for (let s = 0; s < WARMUP_SECONDS; s++) {
    if (chain) await chain.mine(1);
    await wait(1000);
  }
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
  await chain?.stop();
  await database.close();
  if (DATABASE_URL) await dropSchema(DATABASE_URL, schema);
  if (dir) await rm(dir, { recursive: true, force: true });
}
process.exit(0);
