import { mnemonicToSeedSync } from "@scure/bip39";
import { type Config, loadConfig } from "../packages/gateway/src/platform/config.ts";
// Fixed so every run derives the same deposit addresses.
import { TEST_MNEMONIC } from "../packages/gateway/src/testing/test-gateway.ts";

/**
 * The configuration and seed the benchmarks start the gateway with: an ephemeral port on
 * loopback, silent, the static rates, the given DATA_DIR; nothing read from the environment.
 */
export function benchGatewayConfig(dataDir: string): { config: Config; seed: Uint8Array } {
  const config = loadConfig(
    {},
    {
      PORT: 0,
      HOST: "127.0.0.1",
      LOG_LEVEL: "silent",
      DATA_DIR: dataDir,
      RATES_PROVIDER: "static",
    },
  );
  return { config, seed: mnemonicToSeedSync(TEST_MNEMONIC) };
}
