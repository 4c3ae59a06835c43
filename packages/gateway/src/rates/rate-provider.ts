import type { Fiat, Rate, TokenSymbol } from "../payments/quote.ts";

export type { Fiat, Rate, TokenSymbol };

/**
 * Where fiat-per-token rates come from. Implementations throw a DomainError 503/5030
 * (ErrorCode.rateUnavailable) when they cannot answer, so a failed quote reaches the merchant
 * as "rate unavailable" and the cached provider knows to fall back.
 */
export interface RateProvider {
  readonly name: string;
  getRate(fiat: Fiat, token: TokenSymbol): Promise<Rate>;
}
