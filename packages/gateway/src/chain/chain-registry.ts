import { validationError } from "../platform/errors.ts";
import type { ConfirmationPolicy } from "./follower/index.ts";
import { type ChainInfo, KNOWN_CHAINS, type TokenInfo } from "./known-chains.ts";

export interface RegisteredChain extends ChainInfo {
  rpcUrls: string[];
  /** When a payment counts; from CONFIRMATIONS_<CHAIN>, or set by whoever registers the chain. */
  confirmations?: ConfirmationPolicy;
  pollingIntervalMs?: number;
}

export interface ChainRegistry {
  /** Every chain the gateway knows, whether or not an RPC URL is configured for it. */
  list(): RegisteredChain[];
  get(key: string): RegisteredChain;
  token(chainKey: string, symbol: string): TokenInfo;
}

/**
 * The chains and tokens payments may use. `extraChains` adds chains that exist only at run
 * time, such as the sandbox's local anvil chain with its freshly deployed test token.
 */
export function createChainRegistry(options: {
  rpcUrls?: Partial<Record<string, string[]>>;
  extraChains?: RegisteredChain[];
}): ChainRegistry {
  const chains = new Map<string, RegisteredChain>();
  for (const c of KNOWN_CHAINS)
    chains.set(c.key, { ...c, rpcUrls: options.rpcUrls?.[c.key] ?? [] });
  for (const c of options.extraChains ?? []) chains.set(c.key, c);
  return {
    list: () => [...chains.values()],
    get(key) {
      const chain = chains.get(key);
      if (!chain) throw validationError("chain_id", `unknown chain ${key}`);
      return chain;
    },
    token(chainKey, symbol) {
      const chain = this.get(chainKey);
      const token = chain.tokens.find((t) => t.symbol === symbol);
      if (!token) {
        throw validationError("token", `token ${symbol} is not available on chain ${chainKey}`);
      }
      return token;
    },
  };
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
