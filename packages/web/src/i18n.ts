export type Language = "en" | "zh-TW";

export const LANGUAGES: readonly { code: Language; label: string }[] = [
  { code: "en", label: "English" },
  { code: "zh-TW", label: "繁體中文" },
];

const en = {
  documentTitle: "Checkout",
  brand: "Stablegate checkout",
  language: "Language",
  loading: "Loading the payment…",
  notFoundTitle: "Payment not found",
  notFoundBody:
    "This payment link is not valid. Check that you copied the whole link, or ask the shop for a new one.",
  loadError: "Could not reach the payment server. Retrying…",
  payTitle: "Pay {amount} {symbol}",
  fiatEquivalent: "for {fiat} {currency}",
  network: "Network",
  amount: "Amount",
  sendExactly: "Send exactly {amount} {symbol} on {chain} to this address:",
  depositAddress: "Deposit address",
  copy: "Copy",
  copied: "Copied",
  copyFailed: "Copy failed: select the text and copy it by hand.",
  copyAddress: "Copy deposit address",
  copyAmount: "Copy amount",
  qrAlt: "QR code: pay {amount} {symbol} on {chain} to {address}",
  openInWallet: "Open in a wallet app",
  timeLeft: "Time left",
  timeUp: "Time is up: checking for a last payment…",
  waiting: "Waiting for your payment…",
  receivedSoFar:
    "Received {received} of {due} {symbol} so far. Send the rest before the time runs out.",
  payWithWallet: "Pay with browser wallet",
  noWallet:
    "No browser wallet found. Scan the QR code with a wallet app, or send the amount to the address above.",
  walletConnecting: "Connecting to your wallet…",
  walletSwitching: "Switching your wallet to {chain}…",
  walletChecking: "Checking your {symbol} balance…",
  walletConfirm: "Confirm the transfer in your wallet…",
  walletSent: "Transfer sent. Waiting for the network to confirm it…",
  errRejected: "You cancelled the request in your wallet. Nothing was sent.",
  errWrongChain: "Your wallet is on another network. Switch it to {chain} and try again.",
  errUnknownChain:
    "Your wallet cannot switch to {chain}. Add that network to your wallet and try again.",
  errInsufficientToken:
    "Your wallet holds {balance} {symbol}, less than the {amount} {symbol} due. Top it up or use another account.",
  errInsufficientTokenPlain: "Your wallet does not hold the {amount} {symbol} due.",
  errInsufficientGas: "Not enough {native} in your wallet to pay the network fee.",
  errNoAccount: "Your wallet did not share an account. Unlock it and try again.",
  errBusy:
    "Your wallet already has a request waiting. Open the wallet and finish or close it first.",
  errNoWallet: "No browser wallet found.",
  errOther: "The wallet reported an error: {message}",
  paidTitle: "Payment received",
  paidBody: "Thank you. Your payment of {amount} {symbol} has been received.",
  transaction: "Transaction",
  viewOnExplorer: "View on the block explorer",
  expiredTitle: "Payment expired",
  expiredBody:
    "The time to pay has passed and no payment arrived. Do not send funds to this address; ask the shop for a new payment link.",
  underpaidTitle: "Payment incomplete",
  underpaidBody: "{received} of the {due} {symbol} due arrived before the deadline.",
  refundPending: "A refund of the amount received is pending.",
  refunded: "Refunded {amount} {symbol}.",
  refundTransaction: "Refund transaction",
  statusPending: "Waiting for payment",
  payWith: "Pay with",
  assetOnChain: "{symbol} on {chain}",
  assetChoiceFailed: "Could not switch: the payment may have changed. Reload the page.",
  poweredBy: "Payments by Stablegate",
  orderSummary: "Order summary",
  total: "Total",
  transactions: "Transactions",
  transferLate: "after the deadline",
  done: "Done",
  backToShop: "Back to shop",
  closePage: "You can close this page now.",
  lateTitle: "Your payment arrived too late",
  lateBody:
    "{amount} {symbol} arrived after the time to pay had ended, so it cannot be used for this order.",
  lateRefunding:
    "It is being refunded to the address it came from. This page updates when the refund is sent.",
  lateRefunded: "Refunded {amount} {symbol} to the address it came from.",
  lateNewLink: "If you still want to pay, ask the shop for a new payment link.",
  statusLate: "Your payment arrived after the deadline",
};

export type Messages = typeof en;
export type MessageKey = keyof Messages;

const zhTW: Messages = {
  documentTitle: "結帳",
  brand: "Stablegate 結帳",
  language: "語言",
  loading: "正在載入付款資訊…",
  notFoundTitle: "找不到這筆付款",
  notFoundBody: "此付款連結無效。請確認連結完整，或向商店索取新的付款連結。",
  loadError: "無法連線到付款伺服器，正在重試…",
  payTitle: "支付 {amount} {symbol}",
  fiatEquivalent: "相當於 {fiat} {currency}",
  network: "網路",
  amount: "金額",
  sendExactly: "請在 {chain} 上轉帳剛好 {amount} {symbol} 到此地址：",
  depositAddress: "收款地址",
  copy: "複製",
  copied: "已複製",
  copyFailed: "複製失敗：請選取文字後手動複製。",
  copyAddress: "複製收款地址",
  copyAmount: "複製金額",
  qrAlt: "QR 碼：在 {chain} 上支付 {amount} {symbol} 至 {address}",
  openInWallet: "在錢包 App 中開啟",
  timeLeft: "剩餘時間",
  timeUp: "付款時間已到，正在確認最後的款項…",
  waiting: "等待您的付款…",
  receivedSoFar: "目前已收到 {received} / {due} {symbol}。請在時間結束前補足差額。",
  payWithWallet: "使用瀏覽器錢包付款",
  noWallet: "未偵測到瀏覽器錢包。請用錢包 App 掃描 QR 碼，或將金額轉帳到上方地址。",
  walletConnecting: "正在連接您的錢包…",
  walletSwitching: "正在將錢包切換到 {chain}…",
  walletChecking: "正在確認您的 {symbol} 餘額…",
  walletConfirm: "請在錢包中確認轉帳…",
  walletSent: "轉帳已送出，等待網路確認…",
  errRejected: "您已在錢包中取消請求，沒有送出任何款項。",
  errWrongChain: "您的錢包位於其他網路。請切換到 {chain} 後再試一次。",
  errUnknownChain: "您的錢包無法切換到 {chain}。請先在錢包中新增此網路，再試一次。",
  errInsufficientToken:
    "您的錢包只有 {balance} {symbol}，不足應付的 {amount} {symbol}。請先儲值或改用其他帳戶。",
  errInsufficientTokenPlain: "您的錢包餘額不足應付的 {amount} {symbol}。",
  errInsufficientGas: "您的錢包中沒有足夠的 {native} 支付網路手續費。",
  errNoAccount: "錢包未提供帳戶。請解鎖錢包後再試一次。",
  errBusy: "錢包中已有一個待處理的請求。請先開啟錢包完成或關閉它。",
  errNoWallet: "未偵測到瀏覽器錢包。",
  errOther: "錢包回報錯誤：{message}",
  paidTitle: "付款成功",
  paidBody: "謝謝您，已收到您支付的 {amount} {symbol}。",
  transaction: "交易",
  viewOnExplorer: "在區塊瀏覽器查看",
  expiredTitle: "付款已逾期",
  expiredBody: "付款期限已過，未收到任何款項。請勿再轉帳到此地址，並向商店索取新的付款連結。",
  underpaidTitle: "付款金額不足",
  underpaidBody: "截止前收到 {received} {symbol}，應付 {due} {symbol}。",
  refundPending: "已收款項的退款處理中。",
  refunded: "已退款 {amount} {symbol}。",
  refundTransaction: "退款交易",
  statusPending: "等待付款",
  payWith: "付款方式",
  assetOnChain: "{chain} 上的 {symbol}",
  assetChoiceFailed: "無法切換：付款狀態可能已變更，請重新整理頁面。",
  poweredBy: "由 Stablegate 提供付款服務",
  orderSummary: "訂單摘要",
  total: "總計",
  transactions: "交易紀錄",
  transferLate: "逾期到帳",
  done: "完成",
  backToShop: "返回商店",
  closePage: "您現在可以關閉此頁面。",
  lateTitle: "您的付款在期限後才到帳",
  lateBody: "{amount} {symbol} 在付款期限結束後才到帳，無法用於此訂單。",
  lateRefunding: "款項正在退回原付款地址，退款送出後此頁面會自動更新。",
  lateRefunded: "已退款 {amount} {symbol} 至原付款地址。",
  lateNewLink: "如仍要付款，請向商店索取新的付款連結。",
  statusLate: "您的付款逾期到帳",
};

const catalogs: Record<Language, Messages> = { en, "zh-TW": zhTW };

/**
 * `?lang=` first, then the browser's languages. Every Chinese variant gets Traditional Chinese:
 * closer for a Simplified reader than English.
 */
export function pickLanguage(search: string, navigatorLanguages: readonly string[]): Language {
  const asked = new URLSearchParams(search).get("lang");
  const candidates = asked ? [asked, ...navigatorLanguages] : navigatorLanguages;
  for (const tag of candidates) {
    const t = tag.toLowerCase();
    if (t === "en" || t.startsWith("en-")) return "en";
    if (t === "zh" || t.startsWith("zh-")) return "zh-TW";
  }
  return "en";
}

export type Translate = (key: MessageKey, values?: Record<string, string | number>) => string;

export function translator(language: Language): Translate {
  const messages = catalogs[language];
  return (key, values) =>
    messages[key].replace(/\{(\w+)\}/g, (whole, name: string) =>
      values && name in values ? String(values[name]) : whole,
    );
}
