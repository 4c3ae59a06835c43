import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { getAddress, isAddress } from "viem";
import { z } from "zod";
import { parseNetwork } from "../callbacks/url-guard.ts";
import type { ConfirmationPolicy } from "../chain/follower/index.ts";
import {
  GAS_STRATEGIES,
  type GasStrategy,
  KNOWN_CHAINS,
  LOGS_BLOOM_USES,
  type LogsBloomUse,
  type TokenInfo,
} from "../chain/known-chains.ts";
import { TOKEN_SYMBOLS, type TokenSymbol } from "../payments/quote.ts";

const CHAIN_KEYS = ["eth", "arb", "base", "bsc", "polygon", "optimism"] as const;

// Whole numbers only: z.coerce would read " " as 0 and "1e3" as 1000.
const whole = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().min(min).max(max));
const port = whole(0, 65535);
const positiveInt = (max = Number.MAX_SAFE_INTEGER) => whole(1, max);
// A block count, or the chain's own "safe" / "finalized" block tag (the follower's policy).
const blockTags = ["safe", "finalized"] as const satisfies readonly ConfirmationPolicy[];
const confirmations = z.union([z.enum(blockTags), whole(1, 10_000)], {
  error: 'must be a block count (1-10000), "safe" or "finalized"',
});
const csv = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x.length > 0),
  )
  .pipe(z.array(z.url({ protocol: /^(https?|wss?)$/ })));

// A static rate: that currency per USD, a decimal above 0.
const staticRate = z
  .string()
  .regex(/^\d+(\.\d+)?$/, "must be a decimal number")
  .refine((v) => /[1-9]/.test(v), "must be more than 0")
  .optional();
// RATES_<FIAT>_PER_USD for every fiat currency the API quotes but USD (payments/quote.ts):
// rates/create-rate-provider.ts does not compile while one lacks its setting.
const STATIC_RATE_FIATS = [
  "EUR",
  "JPY",
  "HKD",
  "SGD",
  "KRW",
  "GBP",
  "AUD",
  "CAD",
  "CHF",
  "CNY",
  "THB",
  "MYR",
  "PHP",
  "IDR",
  "INR",
  "VND",
] as const;
type StaticRateKey = `RATES_${(typeof STATIC_RATE_FIATS)[number]}_PER_USD`;
const staticRates = Object.fromEntries(
  STATIC_RATE_FIATS.map((fiat) => [`RATES_${fiat}_PER_USD`, staticRate]),
) as Record<StaticRateKey, typeof staticRate>;
// TOKENS_<CHAIN>: the operator's own tokens on a chain, comma-separated
// SYMBOL:0xaddress:decimals[:priced-as], e.g. "EURC:0x…:6:USDC" or "USDT0:0x…:6:USDT".
const TOKEN_ENTRY =
  /^([A-Za-z0-9][A-Za-z0-9.]{0,15}):(0x[0-9a-fA-F]{40}):(\d{1,2})(?::([A-Za-z]+))?$/;
const tokenList = z.string().transform((s, ctx): TokenInfo[] => {
  const out: TokenInfo[] = [];
  for (const entry of s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0)) {
    const m = TOKEN_ENTRY.exec(entry);
    const priced = (m?.[4] ?? m?.[1])?.toUpperCase();
    const problem = !m
      ? "is not SYMBOL:0xaddress:decimals[:priced-as] (symbol: 1-16 letters, digits or dots)"
      : !isAddress(m[2] as string, { strict: false })
        ? "has an invalid address"
        : Number(m[3]) > 36
          ? "has more than 36 decimals"
          : !(TOKEN_SYMBOLS as readonly string[]).includes(priced as string)
            ? `needs a priced-as of ${TOKEN_SYMBOLS.join(" or ")} (the rate it is quoted at)`
            : undefined;
    if (problem !== undefined || !m) {
      ctx.addIssue({ code: "custom", message: `${JSON.stringify(entry)} ${problem}` });
      return z.NEVER;
    }
    out.push({
      symbol: m[1] as string,
      // Checksummed, as the built-in tokens are: intents and reports show one spelling.
      address: getAddress(m[2] as string),
      decimals: Number(m[3]),
      pricedAs: priced as TokenSymbol,
    });
  }
  return out;
});

// One flat schema keyed by the environment variable names: the same names work in the env and in
// the optional JSON config file, so there is one list to document (docs/configuration.md).
const schema = z.object({
  PORT: port.default(8080),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional(),
  PAYMENT_TTL_SECONDS: positiveInt(7 * 24 * 3600).default(1800),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  LOG_PRETTY: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional(),
  CRYPTO_AMOUNT_DECIMALS: whole(0, 18).default(2),
  MAX_BODY_BYTES: positiveInt(10 * 1024 * 1024).default(64 * 1024),
  SEED_PHRASE: z.string().min(1).optional(),
  SEED_FILE: z.string().min(1).optional(),
  // No defaults: `serve` refuses to start until the operator chooses a rate source (the sandbox
  // and tests quote with the static sample rates when these are unset; rates/create-rate-provider.ts).
  RATES_PROVIDER: z.enum(["static", "http"]).optional(),
  RATES_HTTP_URL: z.url({ protocol: /^https?$/ }).optional(),
  RATES_CACHE_SECONDS: positiveInt(24 * 3600).default(60),
  RATES_TWD_PER_USD: staticRate,
  ...staticRates,
  ANVIL_PORT: port.default(8545),
  CONFIRMATION_GRACE_SECONDS: whole(0, 24 * 3600).default(600),
  CHAIN_POLL_MS: positiveInt(60_000).default(2000),
  // Chain health (/readyz, docs/configuration.md) and deep reorgs (docs/payment-lifecycle.md).
  READY_MAX_LAG_BLOCKS: positiveInt(1_000_000).default(100),
  READY_STALL_MS: positiveInt(24 * 3600 * 1000).default(120_000),
  DEEP_REORG_RESCAN_BLOCKS: positiveInt(1_000_000).default(256),
  CALLBACK_ALLOWED_NETWORKS: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x.length > 0),
    )
    .pipe(
      z.array(
        z.string().refine(
          (n) => {
            try {
              parseNetwork(n);
              return true;
            } catch {
              return false;
            }
          },
          { error: "must be IP networks such as 10.0.0.0/8 or fd00::/8, comma-separated" },
        ),
      ),
    )
    .default([]),
  CALLBACK_POLL_MS: positiveInt(3_600_000).default(30_000),
  CALLBACK_CONCURRENCY: positiveInt(1000).default(16),
  CALLBACK_TIMEOUT_MS: positiveInt(60_000).default(10_000),
  TX_REPLACE_AFTER_BLOCKS: positiveInt(10_000).default(10),
  TX_MAX_FEE_GWEI: positiveInt(1_000_000).default(1000),
  // Treasury: refunds, collections, gas top-ups (docs/treasury.md).
  FEE_ADDRESS: z
    .string()
    .refine((a) => isAddress(a), "must be an EVM address (lower case or EIP-55 checksummed)")
    .optional(),
  COLLECTION_DELAY_SECONDS: whole(0, 30 * 24 * 3600).default(0),
  TREASURY_INTERVAL_MS: positiveInt(60_000).default(2000),
  GAS_TOPUP_HEADROOM_PERCENT: whole(0, 1000).default(25),
  // Gasless batch sweeps on eip7702 chains (docs/treasury.md, "Batching").
  SWEEP_BATCH_SIZE: whole(1, 500).default(50),
  SWEEP_MAX_WAIT_MS: whole(0, 24 * 3600 * 1000).default(30_000),
  // Roles and leadership (docs/architecture.md, "Processes and roles").
  ROLE: z.enum(["all", "api", "worker"]).default("all"),
  LEASE_TTL_MS: whole(1000, 600_000).default(5000),
  LEASE_RENEW_MS: whole(100, 300_000).default(1000),

  // Monitoring (docs/operations.md).
  METRICS_TOKEN: z
    .string()
    // RFC 6750's token68 characters: what an Authorization: Bearer header can carry.
    .regex(
      /^[A-Za-z0-9._~+/-]{16,}=*$/,
      "must be at least 16 characters of A-Z a-z 0-9 . _ ~ + / -",
    )
    .optional(),
  METRICS_BALANCE_TTL_SECONDS: positiveInt(24 * 3600).default(60),

  // Rate limits, per process (docs/configuration.md#rate-limits); 0 turns one off.
  RATE_LIMIT_WINDOW_SECONDS: positiveInt(3600).default(60),
  RATE_LIMIT_PER_API_KEY: whole(0, 1_000_000_000).default(6000),
  RATE_LIMIT_PER_CLIENT: whole(0, 1_000_000_000).default(30_000),
  RATE_LIMIT_PER_IP: whole(0, 1_000_000_000).default(300),
  TRUST_PROXY: whole(0, 10).default(0),

  // What every API request reads about its caller, cached per process; changes reach every
  // process through LISTEN/NOTIFY, the age is the safety net (docs/configuration.md).
  TENANCY_CACHE_MAX_ENTRIES: whole(0, 10_000_000).default(10_000),
  TENANCY_CACHE_MAX_AGE_SECONDS: positiveInt(24 * 3600).default(60),

  // Studio sessions (docs/studio.md).
  STUDIO_SESSION_IDLE_MINUTES: positiveInt(7 * 24 * 60).default(30),
  STUDIO_SESSION_MAX_HOURS: positiveInt(30 * 24).default(12),
  // Invitation links by email too (docs/studio.md); without them the link is only shown.
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: "must be an smtp:// or smtps:// URL" }).optional(),
  SMTP_FROM: z
    .string()
    .regex(/^[^\r\n]*[^\s@<>]+@[^\s@<>]+>?$/, "must be an address, or a name and <address>")
    .optional(),
  // The operator's health page flags a gas or fee wallet below this, in the chain's native coin.
  GAS_WALLET_LOW_BALANCE: z
    .string()
    .regex(/^[0-9]{1,12}(\.[0-9]{1,18})?$/, "must be a decimal amount of the native coin")
    .default("0.01"),
  ...Object.fromEntries(CHAIN_KEYS.map((k) => [`RPC_URLS_${k.toUpperCase()}`, csv.optional()])),
  ...Object.fromEntries(
    CHAIN_KEYS.map((k) => [`WS_URL_${k.toUpperCase()}`, z.url({ protocol: /^wss?$/ }).optional()]),
  ),
  ...Object.fromEntries(
    CHAIN_KEYS.map((k) => [`CONFIRMATIONS_${k.toUpperCase()}`, confirmations.optional()]),
  ),
  ...Object.fromEntries(CHAIN_KEYS.map((k) => [`TOKENS_${k.toUpperCase()}`, tokenList.optional()])),
  ...Object.fromEntries(
    CHAIN_KEYS.map((k) => [
      `GAS_STRATEGY_${k.toUpperCase()}`,
      z.enum(GAS_STRATEGIES, { error: `must be ${GAS_STRATEGIES.join(" or ")}` }).optional(),
    ]),
  ),
  ...Object.fromEntries(
    CHAIN_KEYS.map((k) => [
      `LOGS_BLOOM_${k.toUpperCase()}`,
      z.enum(LOGS_BLOOM_USES, { error: `must be ${LOGS_BLOOM_USES.join(" or ")}` }).optional(),
    ]),
  ),
});

/** Blocks (or tags) after which a payment counts, per chain, unless CONFIRMATIONS_<CHAIN> says otherwise. */
export const DEFAULT_CONFIRMATIONS: Record<(typeof CHAIN_KEYS)[number], ConfirmationPolicy> = {
  eth: 12,
  arb: 20,
  base: 10,
  optimism: 10,
  polygon: 64,
  bsc: 15,
};

export type Config = z.infer<typeof schema> & {
  rpcUrls: Partial<Record<(typeof CHAIN_KEYS)[number], string[]>>;
  /** WS_URL_<CHAIN>: where the chain watcher subscribes to new heads instead of polling. */
  wsUrls: Partial<Record<(typeof CHAIN_KEYS)[number], string>>;
  confirmations: Record<(typeof CHAIN_KEYS)[number], ConfirmationPolicy>;
  /** The operator's tokens per chain (TOKENS_<CHAIN>). */
  tokens: Partial<Record<(typeof CHAIN_KEYS)[number], TokenInfo[]>>;
  /** GAS_STRATEGY_<CHAIN> where set; otherwise the chain's own default (known-chains.ts). */
  gasStrategies: Partial<Record<(typeof CHAIN_KEYS)[number], GasStrategy>>;
  /** LOGS_BLOOM_<CHAIN> where set; otherwise the chain's own default (known-chains.ts). */
  logsBloom: Partial<Record<(typeof CHAIN_KEYS)[number], LogsBloomUse>>;
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Parses the configuration once. Sources, later winning: the JSON file named by CONFIG_FILE (or
 * ./stablegate.config.json when present), then the environment. A wrong value throws a
 * ConfigError naming every bad setting, so the process stops before doing anything.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Record<string, string | number | undefined> = {},
): Config {
  const fileValues = readConfigFile(env.CONFIG_FILE);
  const raw: Record<string, unknown> = { ...fileValues };
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== "") raw[key] = v;
  }
  for (const [key, v] of Object.entries(overrides)) if (v !== undefined) raw[key] = String(v);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map(
      (i) => `  ${i.path.join(".") || "(config)"}: ${i.message}`,
    );
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  const parsed = result.data as z.infer<typeof schema> & Record<string, unknown>;
  if (parsed.RATES_PROVIDER === "http" && parsed.RATES_HTTP_URL === undefined) {
    throw new ConfigError(
      "invalid configuration:\n  RATES_HTTP_URL: required when RATES_PROVIDER=http",
    );
  }
  if (parsed.SMTP_URL !== undefined && parsed.SMTP_FROM === undefined) {
    throw new ConfigError(
      "invalid configuration:\n  SMTP_FROM: required when SMTP_URL is set (the invitations' sender, e.g. Stablegate <no-reply@example.com>)",
    );
  }
  if (parsed.LEASE_RENEW_MS * 2 > parsed.LEASE_TTL_MS) {
    throw new ConfigError(
      "invalid configuration:\n  LEASE_RENEW_MS: must be at most half of LEASE_TTL_MS, so one late renewal does not lose a lease",
    );
  }
  // Reads and transactions go over HTTP; a ws(s) URL among RPC_URLS_<CHAIN> is where the chain
  // watcher subscribes to new heads, as WS_URL_<CHAIN> is (which wins when both are set).
  const rpcUrls: Config["rpcUrls"] = {};
  const wsUrls: Config["wsUrls"] = {};
  for (const k of CHAIN_KEYS) {
    const name = `RPC_URLS_${k.toUpperCase()}`;
    const urls = (parsed[name] as string[] | undefined) ?? [];
    const http = urls.filter((u) => !/^wss?:/i.test(u));
    if (urls.length > 0 && http.length === 0) {
      throw new ConfigError(
        `invalid configuration:\n  ${name}: needs an http(s) URL: reads and transactions go over HTTP; a ws(s) URL only adds new-head subscriptions`,
      );
    }
    if (http.length > 0) rpcUrls[k] = http;
    const ws =
      (parsed[`WS_URL_${k.toUpperCase()}`] as string | undefined) ??
      urls.find((u) => !http.includes(u));
    if (ws !== undefined) wsUrls[k] = ws;
  }
  const confirmations = { ...DEFAULT_CONFIRMATIONS };
  for (const k of CHAIN_KEYS) {
    const c = parsed[`CONFIRMATIONS_${k.toUpperCase()}`] as ConfirmationPolicy | undefined;
    if (c !== undefined) confirmations[k] = c;
  }
  const tokens: Config["tokens"] = {};
  for (const k of CHAIN_KEYS) {
    const list = parsed[`TOKENS_${k.toUpperCase()}`] as TokenInfo[] | undefined;
    if (!list || list.length === 0) continue;
    const seen = [...(KNOWN_CHAINS.find((c) => c.key === k)?.tokens ?? [])];
    for (const t of list) {
      const clash = seen.find(
        (s) =>
          s.symbol.toLowerCase() === t.symbol.toLowerCase() ||
          s.address.toLowerCase() === t.address.toLowerCase(),
      );
      if (clash) {
        throw new ConfigError(
          `invalid configuration:\n  TOKENS_${k.toUpperCase()}: ${t.symbol} ${t.address} clashes with ${clash.symbol} ${clash.address}, already a token of ${k}`,
        );
      }
      seen.push(t);
    }
    tokens[k] = list;
  }
  const gasStrategies: Config["gasStrategies"] = {};
  for (const k of CHAIN_KEYS) {
    const g = parsed[`GAS_STRATEGY_${k.toUpperCase()}`] as GasStrategy | undefined;
    if (g !== undefined) gasStrategies[k] = g;
  }
  const logsBloom: Config["logsBloom"] = {};
  for (const k of CHAIN_KEYS) {
    const b = parsed[`LOGS_BLOOM_${k.toUpperCase()}`] as LogsBloomUse | undefined;
    if (b !== undefined) logsBloom[k] = b;
  }
  return {
    ...parsed,
    DATA_DIR: path.resolve(parsed.DATA_DIR),
    rpcUrls,
    wsUrls,
    confirmations,
    tokens,
    gasStrategies,
    logsBloom,
  };
}

function readConfigFile(explicit: string | undefined): Record<string, unknown> {
  const file =
    explicit ?? (existsSync("stablegate.config.json") ? "stablegate.config.json" : undefined);
  if (file === undefined) return {};
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`CONFIG_FILE: cannot read ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`CONFIG_FILE: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(`CONFIG_FILE: ${file} must hold a JSON object of settings`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!(k in schema.shape)) throw new ConfigError(`CONFIG_FILE: unknown setting ${k} in ${file}`);
    out[k] =
      typeof v === "number" || typeof v === "boolean"
        ? String(v)
        : Array.isArray(v)
          ? v.join(",")
          : v;
  }
  return out;
}
