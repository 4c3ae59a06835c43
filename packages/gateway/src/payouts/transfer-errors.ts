import type { Address } from "viem";
import { DomainError, ErrorCode } from "../platform/errors.ts";

export function balanceNotEnough(shortfall: string): DomainError {
  return new DomainError({
    status: 400,
    code: ErrorCode.balanceNotEnough,
    message: "Balance not enough",
    data: { insufficient_amount: shortfall },
  });
}

/** `shortfall` in the native coin (ETH, BNB, ...), when it is known. */
export function gasNotEnough(wallet: Address, chainKey: string, shortfall?: string): DomainError {
  return new DomainError({
    status: 400,
    code: ErrorCode.gasNotEnough,
    message: `Native coin not enough for gas: the hot wallet ${wallet} on ${chainKey} needs more`,
    data: {
      ...(shortfall === undefined ? {} : { insufficient_amount: shortfall }),
      hot_wallet_address: wallet,
    },
  });
}

export function chainUnavailable(chainKey: string, cause: unknown): DomainError {
  return new DomainError({
    status: 503,
    code: ErrorCode.chainUnavailable,
    message: `chain ${chainKey}: the RPC did not answer; retry later`,
    cause,
  });
}

export function transferNotFound(id: string): DomainError {
  return new DomainError({
    status: 404,
    code: ErrorCode.transferNotFound,
    message: `transfer ${id.slice(0, 64)} not found`,
  });
}

export function idempotencyKeyReused(key: string | null, transferId: string): DomainError {
  return new DomainError({
    status: 409,
    code: ErrorCode.idempotencyKeyReused,
    message: `Idempotency-Key ${JSON.stringify(key)} was used for a different transfer (${transferId}) in the last 24 hours`,
    data: { id: transferId },
  });
}

/** A risk limit (organisation's or API key's) refused the transfer. */
export function limitExceeded(
  code: number,
  message: string,
  data: Record<string, string>,
): DomainError {
  return new DomainError({ status: 403, code, message, data });
}
