import type { Address } from "viem";
import type { TokenSymbol } from "../payments/quote.ts";

export type { TokenSymbol };

export interface TokenInfo {
  /**
   * The symbol the API shows and accepts (`symbol` of an intent): "USDT", "USDC", "USDC.e", or
   * an operator's own (TOKENS_<CHAIN>). Unique per chain, compared case-insensitively.
   */
  symbol: string;
  address: Address;
  decimals: number;
  /**
   * Which rate quotes it (a stablecoin bridged or issued elsewhere is priced as the one it
   * tracks: USDC.e as USDC). Absent: the symbol itself, which must then be a TokenSymbol.
   */
  pricedAs?: TokenSymbol;
}

/** The rate a token is quoted at: its pricedAs, else its own symbol. */
export function pricingSymbol(token: TokenInfo): TokenSymbol {
  return token.pricedAs ?? (token.symbol as TokenSymbol);
}

/**
 * Chain keys KryptoGO uses for chains we know under another key: accepted wherever a chain id
 * is (create, transfers, settings, CLI); answers carry the canonical key.
 */
export const CHAIN_ALIASES: Readonly<Record<string, string>> = { matic: "polygon" };

/** KryptoGO chain keys this gateway cannot serve, with the reason given to the caller. */
export const UNSUPPORTED_CHAINS: Readonly<Record<string, string>> = {
  tron: "tron is not an EVM chain; Stablegate serves EVM chains only",
};

/** Bridged USDC (USDC.e), still widely held: accepted and paid out like USDC, priced as USDC. */
const USDC_E = "USDC.e";

export interface ChainInfo {
  /** The API's payment_chain_id / chain_id ("arb", "eth", ...). */
  key: string;
  evmChainId: number;
  name: string;
  /** Block explorer base URL (no trailing slash); a tx is at `${explorerUrl}/tx/${hash}`. */
  explorerUrl?: string;
  tokens: TokenInfo[];
  /**
   * How deposit addresses pay for their transfers unless GAS_STRATEGY_<CHAIN> says otherwise:
   * `eip7702` where the chain has EIP-7702 (batched, gasless sweeps), else `topup`.
   */
  gasStrategy?: GasStrategy;
  /**
   * The header's logsBloom leaves out logs that eth_getLogs may return, so the watcher must not
   * skip a block by its bloom (Polygon PoS: state-sync logs, such as bridge deposits, are not in
   * it). LOGS_BLOOM_<CHAIN> overrides it, for a node whose blooms cannot be trusted.
   */
  bloomIncomplete?: boolean;
}

/** LOGS_BLOOM_<CHAIN> (docs/configuration.md): `ignore` reads every block's logs. */
export const LOGS_BLOOM_USES = ["use", "ignore"] as const;
export type LogsBloomUse = (typeof LOGS_BLOOM_USES)[number];

/** docs/treasury.md, "Strategies". */
export const GAS_STRATEGIES = ["eip7702", "topup"] as const;
export type GasStrategy = (typeof GAS_STRATEGIES)[number];

// Canonical (issuer-native where one exists) USDT and USDC contracts. Only these contracts count
// as payment: a look-alike token at another address never does.
export const KNOWN_CHAINS: readonly ChainInfo[] = [
  {
    key: "eth",
    evmChainId: 1,
    name: "Ethereum",
    // EIP-7702 live since 2025 (docs/decisions.md, "gasless — which chains").
    gasStrategy: "eip7702",
    explorerUrl: "https://etherscan.io",
    tokens: [
      { symbol: "USDT", address: "0xdAC17F958D2ee523a2206206994597C13D831ec7", decimals: 6 },
      { symbol: "USDC", address: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", decimals: 6 },
    ],
  },
  {
    key: "arb",
    evmChainId: 42161,
    name: "Arbitrum One",
    // EIP-7702 live since 2025 (docs/decisions.md, "gasless — which chains").
    gasStrategy: "eip7702",
    explorerUrl: "https://arbiscan.io",
    tokens: [
      { symbol: "USDT", address: "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", decimals: 6 },
      { symbol: "USDC", address: "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", decimals: 6 },
      {
        symbol: USDC_E,
        address: "0xFF970A61A04b1cA14834A43f5dE4533eBDDB5CC8",
        decimals: 6,
        pricedAs: "USDC",
      },
    ],
  },
  {
    key: "base",
    evmChainId: 8453,
    name: "Base",
    // EIP-7702 live since 2025 (docs/decisions.md, "gasless — which chains").
    gasStrategy: "eip7702",
    explorerUrl: "https://basescan.org",
    tokens: [
      { symbol: "USDT", address: "0xfde4C96c8593536E31F229EA8f37b2ADa2699bb2", decimals: 6 },
      { symbol: "USDC", address: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", decimals: 6 },
    ],
  },
  {
    key: "bsc",
    evmChainId: 56,
    name: "BNB Smart Chain",
    // EIP-7702 live since 2025 (docs/decisions.md, "gasless — which chains").
    gasStrategy: "eip7702",
    explorerUrl: "https://bscscan.com",
    tokens: [
      { symbol: "USDT", address: "0x55d398326f99059fF775485246999027B3197955", decimals: 18 },
      { symbol: "USDC", address: "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d", decimals: 18 },
    ],
  },
  {
    key: "polygon",
    evmChainId: 137,
    name: "Polygon PoS",
    bloomIncomplete: true,
    // EIP-7702 live since 2025 (docs/decisions.md, "gasless — which chains").
    gasStrategy: "eip7702",
    explorerUrl: "https://polygonscan.com",
    tokens: [
      { symbol: "USDT", address: "0xc2132D05D31c914a87C6611C10748AEb04B58e8F", decimals: 6 },
      { symbol: "USDC", address: "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", decimals: 6 },
      {
        symbol: USDC_E,
        address: "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174",
        decimals: 6,
        pricedAs: "USDC",
      },
    ],
  },
  {
    key: "optimism",
    evmChainId: 10,
    name: "OP Mainnet",
    // EIP-7702 live since 2025 (docs/decisions.md, "gasless — which chains").
    gasStrategy: "eip7702",
    explorerUrl: "https://optimistic.etherscan.io",
    tokens: [
      { symbol: "USDT", address: "0x94b008aA00579c1307B0EF2c499aD98a8ce58e58", decimals: 6 },
      { symbol: "USDC", address: "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85", decimals: 6 },
    ],
  },
];
