import { createHash } from "node:crypto";
import { type Address, getAddress, isAddress, zeroAddress } from "viem";
import type { ChainRegistry, RegisteredChain } from "../chain/chain-registry.ts";
import type { TokenInfo } from "../chain/known-chains.ts";
import { parseTokenAmount } from "../payments/money.ts";
import { validationError } from "../platform/errors.ts";
import type { TransferInput } from "./transfer-schemas.ts";

/** A transfer request checked against the chains this gateway sends on, amounts in base units. */
export interface ValidatedTransfer {
  chain: RegisteredChain;
  token: TokenInfo;
  amount: bigint;
  to: Address;
}

/** One rule for every Idempotency-Key (platform/idempotency.ts), re-exported for payouts. */
export { validateIdempotencyKey } from "../platform/idempotency.ts";

export function validateTransfer(chains: ChainRegistry, input: TransferInput): ValidatedTransfer {
  // KryptoGO's aliases (matic) name the same chain; the answer carries the canonical key.
  const key = chains.canonicalKey(input.chain_id);
  const chain = chains.list().find((c) => c.key === key);
  if (!chain) {
    const known = chains
      .list()
      .filter((c) => c.rpcUrls.length > 0)
      .map((c) => c.key);
    throw validationError(
      "chain_id",
      `unknown chain ${JSON.stringify(input.chain_id)}; this gateway sends on: ${known.join(", ") || "(none)"}`,
    );
  }
  if (chain.rpcUrls.length === 0) {
    throw validationError(
      "chain_id",
      `chain ${chain.key} has no RPC URL configured on this gateway (RPC_URLS_${chain.key.toUpperCase()})`,
    );
  }
  if (!isAddress(input.contract_address, { strict: false })) {
    throw validationError("contract_address", "must be a 0x-prefixed 20-byte hex address");
  }
  const token = chain.tokens.find(
    (t) => t.address.toLowerCase() === input.contract_address.toLowerCase(),
  );
  if (!token) {
    throw validationError(
      "contract_address",
      `${input.contract_address} is not a registered token on chain ${chain.key} (${chain.tokens
        .map((t) => `${t.symbol} ${t.address}`)
        .join(", ")})`,
    );
  }
  const amount = parseTokenAmount(input.amount, token.decimals, "amount");
  if (amount === 0n) throw validationError("amount", "must be greater than 0");
  if (!isAddress(input.wallet_address)) {
    throw validationError(
      "wallet_address",
      isAddress(input.wallet_address, { strict: false })
        ? "is neither all lower case nor correctly EIP-55 checksummed"
        : "must be a 0x-prefixed 20-byte hex address",
    );
  }
  const to = getAddress(input.wallet_address);
  if (to === zeroAddress) throw validationError("wallet_address", "must not be the zero address");
  // Tokens sent to the token's own contract are lost for good.
  if (to === getAddress(token.address)) {
    throw validationError(
      "wallet_address",
      "is the token contract itself; tokens sent there are lost",
    );
  }
  return { chain, token, amount, to };
}

/**
 * The normalised request, hashed: "1.50" and "1.5", or a checksummed and a lower-case address,
 * are the same transfer for an Idempotency-Key.
 */
export function transferRequestHash(v: ValidatedTransfer): string {
  return createHash("sha256")
    .update(JSON.stringify([v.chain.key, v.token.address.toLowerCase(), `${v.amount}`, v.to]))
    .digest("hex");
}
