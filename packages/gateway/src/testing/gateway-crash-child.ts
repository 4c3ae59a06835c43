// A whole gateway (API, watcher, treasury, transaction manager) in a process of its own, which
// its transaction manager kills with SIGKILL right after it signs (or broadcasts) a refund
// transaction (CHILD_CRASH_PURPOSE: or a sweep batch, on a chain of CHILD_GAS_STRATEGY eip7702):
// CHILD_CRASH_AT, through the crashAt option (never a setting of the production
// config). It prints `LISTENING <url>` once it serves. merchant-refund-crash.test.ts runs it.
import { mnemonicToSeedSync } from "@scure/bip39";
import type { Address } from "viem";
import { startGateway } from "../gateway.ts";
import { loadConfig } from "../platform/config.ts";
import { createDatabase } from "../platform/database/create-database.ts";
import type { ChainTxPurpose } from "../platform/database/schema.ts";
import { TEST_MNEMONIC } from "./test-gateway.ts";
import { createTestLogger } from "./test-logger.ts";

const env = process.env;
const database = await createDatabase(
  env.CHILD_DB_URL
    ? { url: env.CHILD_DB_URL, schema: env.CHILD_DB_SCHEMA as string }
    : { dataDir: env.CHILD_DB_DIR as string },
);
const gateway = await startGateway({
  config: loadConfig(JSON.parse(env.CHILD_ENV ?? "{}") as Record<string, string>, {
    PORT: 0,
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
  }),
  log: createTestLogger(),
  seed: mnemonicToSeedSync(TEST_MNEMONIC, env.CHILD_SEED_PASSPHRASE as string),
  database,
  extraChains: [
    {
      key: "local",
      evmChainId: Number(env.CHILD_EVM_CHAIN_ID),
      name: "Anvil",
      tokens: [{ symbol: "USDT", address: env.CHILD_TOKEN as Address, decimals: 6 }],
      rpcUrls: [env.CHILD_RPC_URL as string],
      confirmations: 1,
      pollingIntervalMs: 100,
      gasStrategy: (env.CHILD_GAS_STRATEGY as "eip7702" | "topup" | undefined) ?? "topup",
    },
  ],
  settleIntervalMs: 100,
  crashTxAt: {
    point: env.CHILD_CRASH_AT as "after-sign" | "after-broadcast",
    purpose: (env.CHILD_CRASH_PURPOSE as ChainTxPurpose | undefined) ?? "refund",
  },
});
process.stdout.write(`LISTENING ${gateway.url}\n`);
