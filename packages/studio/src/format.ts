import type { Language } from "./i18n/index.tsx";

/** A date and time in the user's language and time zone; "—" when there is none. */
export function formatDateTime(iso: string | null | undefined, language: Language): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(language, { dateStyle: "medium", timeStyle: "short" }).format(
    date,
  );
}

export function formatDate(iso: string | null | undefined, language: Language): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(language, { dateStyle: "medium" }).format(date);
}

/**
 * A decimal string with thousands separators, digit for digit: amounts stay strings end to end
 * (a float would round 18-decimal token amounts).
 *
 * @example formatAmount("1234567.891") // "1,234,567.891"
 */
export function formatAmount(amount: string | null | undefined): string {
  if (amount === null || amount === undefined || amount === "") return "—";
  const match = /^(-?)(\d+)(\.\d+)?$/.exec(amount);
  if (!match) return amount;
  const [, sign, whole = "", fraction = ""] = match;
  return sign + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + fraction;
}

/** 0x1234…abcd: enough to recognise an address or hash; the full one goes in `title`. */
export function shortHex(hex: string | null | undefined): string {
  if (!hex) return "—";
  return hex.length > 14 ? `${hex.slice(0, 6)}…${hex.slice(-4)}` : hex;
}

/**
 * A fiat amount in its currency, for the user's language: "TWD 300.00", "JPY 1,000",
 * "EUR 12.34" (the ISO code rather than a symbol: "$" alone would not say whose dollar). Intl
 * knows each currency's minor units; the amount is passed as a string, formatted exactly.
 */
export function formatFiat(
  amount: string | null | undefined,
  currency: string,
  language: Language,
): string {
  if (amount === null || amount === undefined || amount === "") return "—";
  try {
    return new Intl.NumberFormat(language, {
      style: "currency",
      currency,
      currencyDisplay: "code",
    }).format(amount as unknown as number);
  } catch {
    // Not a currency Intl knows: the digits and the code as they are.
    return `${formatAmount(amount)} ${currency}`;
  }
}
