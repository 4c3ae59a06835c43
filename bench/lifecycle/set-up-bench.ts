import { pino } from "pino";
import {
  type LocalChain,
  startLocalChain,
} from "../../packages/gateway/src/sandbox/local-chain.ts";
import { freePort } from "../../packages/gateway/src/testing/cli-process.ts";
import { type BenchDatabase, openBenchDatabase } from "../bench-database.ts";
import { benchGatewayConfig } from "../bench-gateway-config.ts";
import type { AddCleanup } from "../run-with-cleanups.ts";
import { CHAIN_KEY, createGatewayRunner, type GatewayRunner } from "./gateway-runner.ts";
import { type GcPauses, observeGcPauses } from "./gc-pauses.ts";
import { rpc } from "./json-rpc.ts";
import { createPayer, type Payer } from "./payer.ts";
import { SANDBOX_POLL_MS, type Settings } from "./settings.ts";
import { instrumentStatements, type StatementLog } from "./statement-timer.ts";

/** Everything both parts of the benchmark run on. */
export interface LifecycleBench {
  settings: Settings;
  /** Aborted by Ctrl-C: every wait of the bench's own rejects, and the cleanups run. */
  signal: AbortSignal;
  addCleanup: AddCleanup;
  statements: StatementLog;
  gc: GcPauses;
  database: BenchDatabase;
  chain: LocalChain;
  anvilVersion: string;
  payer: Payer;
  runner: GatewayRunner;
  /** The organisation (default chain: anvil) and client the intents belong to. */
  tenant: { orgId: number; clientId: string };
  apiKey: string;
}

/**
 * Instruments the process, opens the database, starts anvil, and creates the organisation,
 * client and API key through a first gateway, stopped again: each part starts its own.
 */
export async function setUpBench(
  settings: Settings,
  signal: AbortSignal,
  addCleanup: AddCleanup,
): Promise<LifecycleBench> {
  const statements = instrumentStatements();
  const gc = observeGcPauses();
  addCleanup("stop GC observer", async () => gc.disconnect());

  const database = await openBenchDatabase(settings.databaseUrl, addCleanup, { namePool: true });

  // Warnings (RPC failures, watcher restarts) go to stderr: a run that had them says so.
  const log = pino({ level: settings.logLevel }, pino.destination(2));
  const chain = await startLocalChain({
    port: await freePort(),
    blockTimeSeconds: settings.blockTimeSeconds,
    log,
  });
  addCleanup("stop anvil", () => chain.stop());
  const anvilVersion = await rpc<string>(chain.rpcUrl, "web3_clientVersion").catch(() => "?");

  // The intents are priced in TWD; the static provider has no default rate.
  const { config, seed } = benchGatewayConfig(database.dataDir, { RATES_TWD_PER_USD: "31" });
  const runner = createGatewayRunner({ config, log, seed, database: database.database, chain });
  addCleanup("stop gateway", () => runner.stop());

  const first = await runner.start(chain.rpcUrl, settings.pollMs[0] ?? SANDBOX_POLL_MS);
  const { tenancy } = first.gateway.services;
  const org = await tenancy.createOrganization({
    name: "bench",
    defaultChainId: CHAIN_KEY,
    defaultTokenSymbol: "USDT",
  });
  const client = await tenancy.createClient({ orgId: org.id, name: "bench", allowedOrigins: [] });
  const apiKey = await tenancy.createApiKey({ orgId: org.id, name: "bench" });
  await runner.stop();

  return {
    settings,
    signal,
    addCleanup,
    statements,
    gc,
    database,
    chain,
    anvilVersion,
    payer: createPayer(chain),
    runner,
    tenant: { orgId: org.id, clientId: client.clientId },
    apiKey: apiKey.secret,
  };
}
