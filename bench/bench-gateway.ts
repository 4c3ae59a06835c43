import { pino } from "pino";
import { type Gateway, startGateway } from "../packages/gateway/src/gateway.ts";
import { type BenchDatabase, openBenchDatabase } from "./bench-database.ts";
import { benchGatewayConfig } from "./bench-gateway-config.ts";
import { envDatabaseUrl } from "./env-settings.ts";
import type { AddCleanup } from "./run-with-cleanups.ts";

/**
 * A silent gateway on the benchmark's database (PGlite in a temp dir, or a bench_* schema of
 * DATABASE_URL), with one organisation (arb / USDT), one client and one API key (its secret, and
 * as the header), all stopped and dropped by the run's cleanups.
 */
export async function startBenchGateway(
  addCleanup: AddCleanup,
  overrides: Record<string, string | number> = {},
) {
  const bench: BenchDatabase = await openBenchDatabase(envDatabaseUrl(), addCleanup);
  const { config, seed } = benchGatewayConfig(bench.dataDir, overrides);
  const gateway: Gateway = await startGateway({
    config,
    log: pino({ level: "silent" }),
    seed,
    database: bench.database,
  });
  addCleanup("stop gateway", () => gateway.stop());
  const { tenancy } = gateway.services;
  const org = await tenancy.createOrganization({
    name: "bench",
    defaultChainId: "arb",
    defaultTokenSymbol: "USDT",
  });
  const client = await tenancy.createClient({ orgId: org.id, name: "bench", allowedOrigins: [] });
  const apiKey = await tenancy.createApiKey({ orgId: org.id, name: "bench" });
  return {
    ...bench,
    gateway,
    seed,
    org,
    client,
    apiKey: apiKey.secret,
    auth: { "x-studio-api-key": apiKey.secret },
  };
}
