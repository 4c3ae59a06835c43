// A process that submits one transaction through the transaction manager and is killed at the
// point CHILD_CRASH_AT names, by the manager itself through its crashAt option (never a setting
// of the production config). tx-manager.test.ts runs it, then checks that a fresh manager on the
// same database sends exactly one transaction.
import { mnemonicToSeedSync } from "@scure/bip39";
import { pino } from "pino";
import { type Address, parseEther } from "viem";
import { createChainRegistry } from "../chain/chain-registry.ts";
import { createTxManager } from "../chain/tx-manager/tx-manager.ts";
import { createWallets } from "../chain/wallets.ts";
import { createDatabase } from "../platform/database/create-database.ts";
import { createLeases } from "../platform/lease.ts";
import { TEST_MNEMONIC } from "./test-gateway.ts";

const env = process.env;
const database = await createDatabase(
  env.CHILD_DB_URL
    ? { url: env.CHILD_DB_URL, schema: env.CHILD_DB_SCHEMA as string }
    : { dataDir: env.CHILD_DB_DIR as string },
);
const chains = createChainRegistry({
  extraChains: [
    {
      key: "local",
      evmChainId: 31337,
      name: "anvil",
      tokens: [],
      rpcUrls: [env.CHILD_RPC_URL as string],
    },
  ],
});
const log = pino({ level: "silent" });
const manager = createTxManager({
  db: database.db,
  chains,
  log,
  leases: createLeases({ db: database.db, log }),
  confirmations: () => 1,
  crashAt: env.CHILD_CRASH_AT as "after-sign" | "after-broadcast",
});
await manager.submit({
  chainKey: "local",
  from: createWallets(mnemonicToSeedSync(TEST_MNEMONIC)).gasWallet(),
  to: env.CHILD_TO as Address,
  value: parseEther("1"),
  gasLimit: 21_000n,
  purpose: "gas_topup",
  idempotencyKey: "crash-test",
});
// Not reached: the manager kills the process first.
process.exit(3);
