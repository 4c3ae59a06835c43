// big.js 7 ships no types and @types/big.js is not installed; this covers the API we use
// (the shape follows the DefinitelyTyped declaration the package itself points to).
declare module "big.js" {
  /** 0 round down, 1 half-up, 2 half-even, 3 round up. */
  export type RoundingMode = 0 | 1 | 2 | 3;
  export type BigSource = number | string | bigint | Big;
  export type Comparison = -1 | 0 | 1;

  export interface BigConstructor {
    new (value: BigSource): Big;
    (value: BigSource): Big;
    /** A new constructor with its own DP/RM/NE/PE/strict settings. */
    (): BigConstructor;
    /** Decimal places kept by div, sqrt and pow with a negative exponent (default 20). */
    DP: number;
    /** Rounding mode used by round, div, sqrt and the to* methods without an explicit mode. */
    RM: RoundingMode;
    NE: number;
    PE: number;
    strict: boolean;
    readonly roundDown: 0;
    readonly roundHalfUp: 1;
    readonly roundHalfEven: 2;
    readonly roundUp: 3;
  }

  export interface Big {
    abs(): Big;
    cmp(n: BigSource): Comparison;
    div(n: BigSource): Big;
    eq(n: BigSource): boolean;
    gt(n: BigSource): boolean;
    gte(n: BigSource): boolean;
    lt(n: BigSource): boolean;
    lte(n: BigSource): boolean;
    minus(n: BigSource): Big;
    mod(n: BigSource): Big;
    neg(): Big;
    plus(n: BigSource): Big;
    pow(exp: number): Big;
    prec(sd: number, rm?: RoundingMode): Big;
    round(dp?: number, rm?: RoundingMode): Big;
    sqrt(): Big;
    times(n: BigSource): Big;
    toExponential(dp?: number, rm?: RoundingMode): string;
    toFixed(dp?: number, rm?: RoundingMode): string;
    toJSON(): string;
    toNumber(): number;
    toPrecision(sd?: number, rm?: RoundingMode): string;
    toString(): string;
    valueOf(): string;
    /** Coefficient digits, exponent and sign (1 or -1). */
    readonly c: number[];
    readonly e: number;
    readonly s: 1 | -1;
  }

  export const Big: BigConstructor;
  export default Big;
}
