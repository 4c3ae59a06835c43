import type { ChainRegistry } from "../chain/chain-registry.ts";
import { validationError } from "../platform/errors.ts";

/** A chain and token an organisation accepts: the canonical chain key and the registry's symbol. */
export interface Asset {
  chain_id: string;
  symbol: string;
}

export const assetKey = (a: Asset) => `${a.chain_id}/${a.symbol}`;

function parseAssetKey(key: string): Asset {
  const slash = key.indexOf("/");
  return { chain_id: key.slice(0, slash), symbol: key.slice(slash + 1) };
}

/**
 * What an organisation accepts, its default pair first. `accepted_assets` null (every
 * organisation until it chooses) is the default pair alone: KryptoGO integrations see no change.
 */
export function acceptedAssets(org: {
  default_chain_id: string;
  default_token_symbol: string;
  accepted_assets: string[] | null;
}): Asset[] {
  const first: Asset = { chain_id: org.default_chain_id, symbol: org.default_token_symbol };
  const rest = (org.accepted_assets ?? [])
    .map(parseAssetKey)
    .filter((a) => assetKey(a) !== assetKey(first));
  return [first, ...rest];
}

/**
 * The organisation's new set, checked: each chain known (aliases such as `matic` accepted), the
 * token on it, and the chain watched by this gateway (RPC URLs, or the sandbox chain): a payment
 * on a chain nobody follows would never be seen. The default pair is always accepted.
 */
export function checkAcceptedAssets(
  chains: ChainRegistry,
  input: readonly Asset[],
  defaultPair: Asset,
  field = "accepted_assets",
): string[] {
  if (input.length > 50) throw validationError(field, "at most 50 chain and token pairs");
  const keys = new Set<string>([assetKey(defaultPair)]);
  input.forEach((a, i) => {
    const chain = chains.get(a.chain_id, `${field}[${i}].chain_id`);
    const token = chains.token(chain.key, a.symbol, `${field}[${i}].symbol`);
    if (chain.rpcUrls.length === 0) {
      throw validationError(
        `${field}[${i}].chain_id`,
        `chain ${chain.key} is not watched by this gateway (no RPC_URLS_${chain.key.toUpperCase()}), so payments on it would never be seen`,
      );
    }
    keys.add(assetKey({ chain_id: chain.key, symbol: token.symbol }));
  });
  return [...keys];
}
