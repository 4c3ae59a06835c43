import {
  type Address,
  type Chain,
  defineChain,
  type Hex,
  type PublicClient,
  type SignedAuthorization,
} from "viem";
import type { ChainRegistry } from "../chain-registry.ts";

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface EstimateRequest {
  chainKey: string;
  from: Address;
  to: Address;
  data?: Hex;
  value?: bigint;
  gasLimit?: bigint;
  /** Estimated as the type-4 transaction it will be: each authorization costs gas too. */
  authorizationList?: SignedAuthorization[] | undefined;
}

export interface CreateFeeOracleParameters {
  chains: ChainRegistry;
  client: (chainKey: string) => PublicClient;
  /** No fee goes above this (wei per gas): the operator's TX_MAX_FEE_GWEI. */
  cap: bigint;
  /** Each replacement raises both fees by at least this many percent (nodes require 10). */
  bumpPercent: number;
}

/**
 * The fees the manager signs with: viem's estimateFeesPerGas (the node's tip, the latest base fee
 * times a multiplier), under the operator's cap, and for a replacement at least the bump over the
 * version it replaces.
 */
export function createFeeOracle(parameters: CreateFeeOracleParameters) {
  const { chains, client, cap } = parameters;
  const bumpPercent = BigInt(Math.max(10, Math.ceil(parameters.bumpPercent)));
  const bump = (v: bigint) => (v * (100n + bumpPercent) + 99n) / 100n;
  const feeChains = new Map<string, Chain>();

  function feeChain(chainKey: string): Chain {
    let chain = feeChains.get(chainKey);
    if (!chain) {
      const info = chains.get(chainKey);
      chain = defineChain({
        id: info.evmChainId,
        name: info.name,
        nativeCurrency: { name: "native", symbol: "NATIVE", decimals: 18 },
        rpcUrls: { default: { http: [] } },
        // Twice the base fee rides out several full blocks before the transaction is stuck
        // (viem's default, 1.2, about one).
        fees: { baseFeeMultiplier: 2 },
      });
      feeChains.set(chainKey, chain);
    }
    return chain;
  }

  /** Fresh fees for a chain; with `floor`, at least the bump over the fees of a stuck version. */
  async function current(chainKey: string, floor?: Fees): Promise<Fees> {
    const fresh = await client(chainKey).estimateFeesPerGas({ chain: feeChain(chainKey) });
    let priority = fresh.maxPriorityFeePerGas;
    let maxFee = fresh.maxFeePerGas;
    if (floor) {
      priority = max(priority, bump(floor.maxPriorityFeePerGas));
      maxFee = max(maxFee, bump(floor.maxFeePerGas), priority);
    }
    return { maxFeePerGas: min(maxFee, cap), maxPriorityFeePerGas: min(priority, cap) };
  }

  /**
   * The gas limit and fees submit() would sign with now, and the most the sender can be charged
   * for them (gas limit x max fee). Throws the node's error when the call would fail.
   */
  async function estimate(request: EstimateRequest) {
    const [gasLimit, fees] = await Promise.all([
      request.gasLimit ??
        client(request.chainKey)
          .estimateGas({
            account: request.from,
            to: request.to,
            data: request.data ?? "0x",
            value: request.value ?? 0n,
            ...(request.authorizationList && request.authorizationList.length > 0
              ? { authorizationList: request.authorizationList }
              : {}),
          })
          // A margin: state can change between estimation and inclusion.
          .then((g) => (g * 12n) / 10n),
      current(request.chainKey),
    ]);
    return {
      gasLimit,
      maxFeePerGas: fees.maxFeePerGas,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      maxCost: gasLimit * fees.maxFeePerGas,
    };
  }

  return { cap, current, estimate };
}

export type FeeOracle = ReturnType<typeof createFeeOracle>;

const max = (...v: bigint[]) => v.reduce((a, b) => (a > b ? a : b));
const min = (a: bigint, b: bigint) => (a < b ? a : b);
