import { envDatabaseUrl, envIntList, envNumber } from "../env-settings.ts";

/** The variables the benchmark reads; the report's command line shows those that are set. */
export const ENV_KEYS = [
  "DATABASE_URL",
  "BENCH_PAYMENTS",
  "BENCH_PER_BLOCK",
  "BENCH_POLL_MS",
  "BENCH_SIZES",
  "BENCH_BLOCKS",
  "BENCH_BLOCK_TIME",
  "BENCH_LOG_LEVEL",
  "BENCH_WS",
] as const;

/** The polling interval the sandbox registers its local chain with; used for part 2. */
export const SANDBOX_POLL_MS = 250;

export interface Settings {
  databaseUrl: string | undefined;
  payments: number;
  perBlock: number;
  pollMs: number[];
  sizes: number[];
  blocks: number;
  blockTimeSeconds: number;
  logLevel: string;
  /** Part 1 adds a row with new heads pushed over anvil's websocket. */
  ws: boolean;
}

export function readSettings(): Settings {
  return {
    databaseUrl: envDatabaseUrl(),
    // 0 skips part 1.
    payments: envNumber("BENCH_PAYMENTS", 100, 0),
    perBlock: envNumber("BENCH_PER_BLOCK", 4, 1),
    pollMs: envIntList("BENCH_POLL_MS", [SANDBOX_POLL_MS, 100], 10),
    // Cumulative: each size adds rows to the previous one's.
    // A size repeated measures another window at the same size (for the spread between windows).
    sizes: envIntList("BENCH_SIZES", [1_000, 10_000, 100_000], 0).sort((a, b) => a - b),
    blocks: envNumber("BENCH_BLOCKS", 30, 4),
    blockTimeSeconds: envNumber("BENCH_BLOCK_TIME", 1, 0.2, false),
    logLevel: process.env.BENCH_LOG_LEVEL || "warn",
    ws: process.env.BENCH_WS !== "0",
  };
}
