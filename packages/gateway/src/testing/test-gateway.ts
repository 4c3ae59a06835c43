import { mnemonicToSeedSync } from "@scure/bip39";
import type { Resolve } from "../callbacks/url-guard.ts";
import type { RegisteredChain } from "../chain/chain-registry.ts";
import { type Gateway, startGateway } from "../gateway.ts";
import type { TenancyService } from "../organizations/tenancy-service.ts";
import { loadConfig } from "../platform/config.ts";
import type { DatabaseHandle } from "../platform/database/create-database.ts";
import { createTestDatabase } from "./test-database.ts";
import { createTestLogger } from "./test-logger.ts";

/** The well-known development mnemonic: test deposit addresses are reproducible. */
export const TEST_MNEMONIC = "test test test test test test test test test test test junk";

export interface TestTenant {
  orgId: number;
  clientId: string;
  apiKey: string;
  origin: string;
  webhookSecret: string;
}

export interface TestGateway extends Gateway {
  /** Creates an organisation with one client (allowing `origin`) and one API key. */
  createTenant(options?: { origin?: string; name?: string; chain?: string }): Promise<TestTenant>;
  close(): Promise<void>;
}

/** The real gateway on port 0 with its own database; static rates (1 USD = 32.5 TWD). */
export async function startTestGateway(
  options: {
    env?: Record<string, string>;
    extraChains?: RegisteredChain[];
    /** How often deadlines are settled; short in lifecycle tests. */
    settleIntervalMs?: number;
    /** A database that outlives this gateway (a restart test starts another on it). */
    database?: DatabaseHandle;
    callbackClock?: () => Date;
    resolve?: Resolve;
  } = {},
): Promise<TestGateway> {
  const database = options.database ?? (await createTestDatabase());
  const config = loadConfig(
    { ...options.env },
    { PORT: 0, HOST: "127.0.0.1", LOG_LEVEL: "silent" },
  );
  const gateway = await startGateway({
    config,
    log: createTestLogger(),
    seed: mnemonicToSeedSync(TEST_MNEMONIC),
    database,
    ...(options.extraChains ? { extraChains: options.extraChains } : {}),
    ...(options.settleIntervalMs === undefined
      ? {}
      : { settleIntervalMs: options.settleIntervalMs }),
    ...(options.callbackClock ? { callbackClock: options.callbackClock } : {}),
    ...(options.resolve ? { resolve: options.resolve } : {}),
  });
  return {
    ...gateway,
    createTenant: (o = {}) => createTestTenant(gateway.services.tenancy, o),
    async close() {
      await gateway.stop();
      if (!options.database) await database.close();
    },
  };
}

let tenants = 0;

/** An organisation (default token USDT on `chain`, "arb" unless given) with one client and one API key. */
export async function createTestTenant(
  tenancy: TenancyService,
  o: { origin?: string; name?: string; chain?: string } = {},
): Promise<TestTenant> {
  tenants += 1;
  const origin = o.origin ?? `https://shop${tenants}.example`;
  const org = await tenancy.createOrganization({
    name: o.name ?? `Org ${tenants}`,
    defaultChainId: o.chain ?? "arb",
    defaultTokenSymbol: "USDT",
  });
  const client = await tenancy.createClient({
    orgId: org.id,
    name: "web",
    allowedOrigins: [origin],
  });
  const key = await tenancy.createApiKey({ orgId: org.id, name: "server" });
  return {
    orgId: org.id,
    clientId: client.clientId,
    apiKey: key.secret,
    origin,
    webhookSecret: org.webhookSecret,
  };
}
