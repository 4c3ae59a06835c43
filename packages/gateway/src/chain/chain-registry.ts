import { validationError } from "../platform/errors.ts";
import type { ConfirmationPolicy } from "./follower/index.ts";
import {
  CHAIN_ALIASES,
  type ChainInfo,
  KNOWN_CHAINS,
  type LogsBloomUse,
  type TokenInfo,
  UNSUPPORTED_CHAINS,
} from "./known-chains.ts";

export interface RegisteredChain extends ChainInfo {
  rpcUrls: string[];
  /** A websocket endpoint the chain watcher subscribes to new heads on (WS_URL_<CHAIN>). */
  wsUrl?: string | undefined;
  /** When a payment counts; from CONFIRMATIONS_<CHAIN>, or set by whoever registers the chain. */
  confirmations?: ConfirmationPolicy;
  pollingIntervalMs?: number;
}

export interface ChainRegistry {
  /** Every chain the gateway knows, whether or not an RPC URL is configured for it. */
  list(): RegisteredChain[];
  /** A chain by its key or an alias (`matic`); throws a validation error naming `field`. */
  get(key: string, field?: string): RegisteredChain;
  /** The canonical key of a key or alias, or undefined for a chain this gateway does not know. */
  canonicalKey(key: string): string | undefined;
  /** A token of a chain by its symbol, case-insensitively ("usdc.e" is USDC.e). */
  token(chainKey: string, symbol: string, field?: string): TokenInfo;
}

/**
 * The chains and tokens payments may use. `extraChains` adds chains that exist only at run
 * time, such as the sandbox's local anvil chain with its freshly deployed test token.
 */
export function createChainRegistry(options: {
  rpcUrls?: Partial<Record<string, string[]>>;
  wsUrls?: Partial<Record<string, string>>;
  extraChains?: RegisteredChain[];
  /** The operator's own tokens per chain key (TOKENS_<CHAIN>), followed and accepted like the rest. */
  extraTokens?: Partial<Record<string, TokenInfo[]>>;
  /** LOGS_BLOOM_<CHAIN>: whether the watcher may skip a block by its header's bloom. */
  logsBloom?: Partial<Record<string, LogsBloomUse>>;
}): ChainRegistry {
  const chains = new Map<string, RegisteredChain>();
  for (const c of KNOWN_CHAINS) {
    const bloom = options.logsBloom?.[c.key];
    chains.set(c.key, {
      ...c,
      rpcUrls: options.rpcUrls?.[c.key] ?? [],
      wsUrl: options.wsUrls?.[c.key],
      ...(bloom === undefined ? {} : { bloomIncomplete: bloom === "ignore" }),
    });
  }
  for (const c of options.extraChains ?? []) chains.set(c.key, { ...c });
  for (const [key, extra] of Object.entries(options.extraTokens ?? {})) {
    const chain = chains.get(key);
    if (!chain) throw new Error(`tokens configured for unknown chain ${key}`);
    for (const t of extra ?? []) {
      const clash = chain.tokens.find(
        (k) =>
          k.symbol.toLowerCase() === t.symbol.toLowerCase() ||
          k.address.toLowerCase() === t.address.toLowerCase(),
      );
      if (clash) {
        throw new Error(
          `TOKENS_${key.toUpperCase()}: ${t.symbol} ${t.address} clashes with ${clash.symbol} ${clash.address} already on chain ${key}`,
        );
      }
      chain.tokens = [...chain.tokens, t];
    }
  }
  const canonicalKey = (key: string) => {
    const k = CHAIN_ALIASES[key] ?? key;
    return chains.has(k) ? k : undefined;
  };
  return {
    list: () => [...chains.values()],
    canonicalKey,
    get(key, field = "chain_id") {
      const canonical = canonicalKey(key);
      if (canonical === undefined) {
        const why = Object.hasOwn(UNSUPPORTED_CHAINS, key) ? UNSUPPORTED_CHAINS[key] : undefined;
        throw validationError(
          field,
          why ??
            `unknown chain ${JSON.stringify(key.slice(0, 64))}; known: ${[...chains.keys(), ...Object.keys(CHAIN_ALIASES)].join(", ")}`,
        );
      }
      return chains.get(canonical) as RegisteredChain;
    },
    token(chainKey, symbol, field = "token") {
      const chain = this.get(chainKey);
      const token = findToken(chain, symbol);
      if (!token) {
        throw validationError(
          field,
          `token ${JSON.stringify(symbol.slice(0, 64))} is not available on chain ${chain.key} (${chain.tokens.map((t) => t.symbol).join(", ")})`,
        );
      }
      return token;
    },
  };
}

/** A chain's token by symbol, case-insensitively. */
export function findToken(chain: ChainInfo, symbol: string): TokenInfo | undefined {
  const wanted = symbol.toLowerCase();
  return chain.tokens.find((t) => t.symbol.toLowerCase() === wanted);
}

/** A transaction's page on its chain's block explorer; null without an explorer or a hash. */
export function explorerTxUrl(
  chains: ChainRegistry,
  chainKey: string,
  txHash: string | null,
): string | null {
  const explorer = chains.list().find((c) => c.key === chainKey)?.explorerUrl;
  return explorer && txHash ? `${explorer}/tx/${txHash}` : null;
}
