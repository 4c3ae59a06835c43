import { mnemonicToSeedSync } from "@scure/bip39";
import type { Logger } from "pino";
import type { RegisteredChain } from "../chain/chain-registry.ts";
import { type Gateway, startGateway } from "../gateway.ts";
import { loadConfig } from "../platform/config.ts";
import type { DatabaseHandle } from "../platform/database/create-database.ts";
import { createTestDatabase } from "./test-database.ts";
import { createTestTenant, TEST_MNEMONIC, type TestTenant } from "./test-gateway.ts";
import { createTestLogger } from "./test-logger.ts";

export interface RestartableGateway {
  /** The running gateway's base URL; a restart listens on a new port. */
  readonly url: string;
  readonly running: boolean;
  readonly database: DatabaseHandle;
  /** The running gateway's services (admin actions a CLI command would take). */
  readonly services: Gateway["services"];
  /** The running gateway's chain watchers. */
  readonly watchers: Gateway["watchers"];
  /** Creates an organisation paying on `chain`, with one client and one API key. */
  createTenant(options: { chain: string }): Promise<TestTenant>;
  /** Stops serving and watching chains, as a crashed or redeployed process would; keeps the database. */
  stop(): Promise<void>;
  /** Starts again on the same database, configuration and seed. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The real gateway (port 0, static rates) on a database of its own that outlives stop(), so a
 * test can take it down while the chain moves on and start it again. `seedPassphrase` gives each
 * gateway its own deposit addresses: two gateways watching one chain must never share one.
 */
export async function startRestartableGateway(options: {
  seedPassphrase: string;
  extraChains: RegisteredChain[];
  env?: Record<string, string>;
  settleIntervalMs?: number;
  /** The gateway's logger (default: the silent test logger). */
  log?: Logger;
}): Promise<RestartableGateway> {
  const database = await createTestDatabase();
  const config = loadConfig(
    { ...options.env },
    { PORT: 0, HOST: "127.0.0.1", LOG_LEVEL: "silent" },
  );
  const seed = mnemonicToSeedSync(TEST_MNEMONIC, options.seedPassphrase);
  const launch = () =>
    startGateway({
      config,
      log: options.log ?? createTestLogger(),
      seed,
      database,
      extraChains: options.extraChains,
      ...(options.settleIntervalMs === undefined
        ? {}
        : { settleIntervalMs: options.settleIntervalMs }),
    });

  let current: Gateway | undefined;
  try {
    current = await launch();
  } catch (error) {
    await database.close();
    throw error;
  }
  const gateway = current;

  const restartable: RestartableGateway = {
    get url() {
      if (!current) throw new Error("the gateway is stopped");
      return current.url;
    },
    get running() {
      return current !== undefined;
    },
    get services() {
      if (!current) throw new Error("the gateway is stopped");
      return current.services;
    },
    get watchers() {
      if (!current) throw new Error("the gateway is stopped");
      return current.watchers;
    },
    database,
    // The services only read the database and the chain registry, which outlive a restart.
    createTenant: ({ chain }) => createTestTenant(gateway.services.tenancy, { chain }),
    async stop() {
      const running = current;
      current = undefined;
      await running?.stop();
    },
    async start() {
      if (current) throw new Error("the gateway is already running");
      current = await launch();
    },
    async close() {
      await restartable.stop();
      await database.close();
    },
  };
  return restartable;
}
