/** The languages of the modal's own text; the hosted page gets the same `lang`. */
export type PaymentLanguage = "en" | "zh-TW";

export const MESSAGES = {
  en: {
    title: "Pay with crypto",
    close: "Close",
    frameTitle: "Payment page",
    pending: "Waiting for your payment…",
    success: "Payment received",
    expired: "This payment has expired",
    insufficient: "Less than the amount due was received",
    openInTab: "Page not loading? Open it in a new tab",
  },
  "zh-TW": {
    title: "使用加密貨幣付款",
    close: "關閉",
    frameTitle: "付款頁面",
    pending: "等待您的付款…",
    success: "已收到付款",
    expired: "此筆付款已逾期",
    insufficient: "收到的金額少於應付金額",
    openInTab: "頁面無法載入？在新分頁開啟",
  },
} satisfies Record<PaymentLanguage, Record<string, string>>;

/**
 * Traditional Chinese for a browser that prefers any Chinese, else English.
 *
 * @example
 * const lang = props.lang ?? detectLanguage(); // "zh-TW" when navigator.languages is ["zh-TW", "en"]
 */
export function detectLanguage(): PaymentLanguage {
  const preferred = typeof navigator === "undefined" ? [] : (navigator.languages ?? []);
  return preferred.some((l) => l.toLowerCase().startsWith("zh")) ? "zh-TW" : "en";
}
