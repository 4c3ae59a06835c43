import { mnemonicToSeedSync } from "@scure/bip39";
import { type Config, loadConfig } from "../packages/gateway/src/platform/config.ts";
// Fixed so every run derives the same deposit addresses.
import { TEST_MNEMONIC } from "../packages/gateway/src/testing/test-gateway.ts";

const RATE_LIMIT_NEVER_REACHED = 1_000_000_000;

/** The rate limits turned off (0), for a benchmark's comparison run. */
export const RATE_LIMITS_OFF = {
  RATE_LIMIT_PER_API_KEY: 0,
  RATE_LIMIT_PER_CLIENT: 0,
  RATE_LIMIT_PER_IP: 0,
};

/**
 * The configuration and seed the benchmarks start the gateway with: an ephemeral port on
 * loopback, silent, the static rates, the given DATA_DIR; nothing read from the environment.
 */
export function benchGatewayConfig(
  dataDir: string,
  overrides: Record<string, string | number> = {},
): { config: Config; seed: Uint8Array } {
  const config = loadConfig(
    {},
    {
      PORT: 0,
      HOST: "127.0.0.1",
      LOG_LEVEL: "silent",
      DATA_DIR: dataDir,
      RATES_PROVIDER: "static",
      // Counted as in production, but never reached: a benchmark's load is not an abuse.
      RATE_LIMIT_PER_API_KEY: RATE_LIMIT_NEVER_REACHED,
      RATE_LIMIT_PER_CLIENT: RATE_LIMIT_NEVER_REACHED,
      RATE_LIMIT_PER_IP: RATE_LIMIT_NEVER_REACHED,
      ...overrides,
    },
  );
  return { config, seed: mnemonicToSeedSync(TEST_MNEMONIC) };
}
