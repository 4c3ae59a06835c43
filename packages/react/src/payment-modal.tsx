import { type CSSProperties, useEffect, useId, useRef, useState } from "react";
import { createPortal } from "react-dom";
import { MESSAGES, type PaymentLanguage } from "./messages.ts";
import type { PaymentIntent, PaymentStatus } from "./types.ts";

/** What the hosted checkout posts to its parent window on every status change. */
export interface CheckoutStatusMessage {
  type: "stablegate:status";
  payment_intent_id: string;
  status: PaymentStatus;
  payment_tx_hash: string | null;
}

const STATUSES: ReadonlySet<string> = new Set<PaymentStatus>([
  "pending",
  "success",
  "expired",
  "insufficient_not_refunded",
  "insufficient_refunded",
]);

export interface PaymentModalProps {
  intent: PaymentIntent;
  /** The gateway's base URL, e.g. `https://pay.example.com`. */
  baseUrl: string;
  lang: PaymentLanguage;
  /** Where focus goes back to on close: what had it when the payment was started. */
  returnFocusTo: HTMLElement | null;
  onClose(): void;
  onStatusMessage(message: CheckoutStatusMessage): void;
}

// Inline styles only: nothing is added to the page's stylesheets, and page rules on bare
// elements (button, h2, iframe) are outweighed by these.
const overlay: CSSProperties = {
  position: "fixed",
  inset: 0,
  zIndex: 2147483000,
  display: "flex",
  alignItems: "center",
  justifyContent: "center",
  background: "rgba(15, 18, 24, 0.6)",
  padding: 0,
  margin: 0,
};
const dialog: CSSProperties = {
  boxSizing: "border-box",
  display: "flex",
  flexDirection: "column",
  width: "100%",
  maxWidth: 440,
  height: "100%",
  maxHeight: 780,
  background: "#ffffff",
  color: "#1c1f24",
  borderRadius: 12,
  overflow: "hidden",
  boxShadow: "0 12px 40px rgba(0, 0, 0, 0.3)",
  fontFamily: 'system-ui, -apple-system, "Segoe UI", "Noto Sans TC", sans-serif',
  fontSize: 16,
  lineHeight: 1.4,
  textAlign: "left",
};
const header: CSSProperties = {
  display: "flex",
  alignItems: "center",
  justifyContent: "space-between",
  gap: 8,
  padding: "10px 12px 10px 16px",
  borderBottom: "1px solid #e3e5e8",
};
const heading: CSSProperties = { margin: 0, fontSize: 17, fontWeight: 600, color: "inherit" };
const closeButton: CSSProperties = {
  boxSizing: "border-box",
  minWidth: 44,
  minHeight: 44,
  margin: 0,
  padding: 0,
  border: "none",
  borderRadius: 8,
  background: "transparent",
  color: "#1c1f24",
  fontSize: 26,
  lineHeight: 1,
  cursor: "pointer",
};
const frame: CSSProperties = {
  flex: "1 1 auto",
  width: "100%",
  minHeight: 0,
  border: 0,
  margin: 0,
  display: "block",
  background: "#f4f5f7",
};
const footer: CSSProperties = {
  display: "flex",
  flexWrap: "wrap",
  alignItems: "center",
  justifyContent: "space-between",
  gap: "4px 12px",
  padding: "8px 16px",
  borderTop: "1px solid #e3e5e8",
  fontSize: 14,
};
// On a phone the dialog takes the whole screen: every pixel goes to the QR code and address.
const compactDialog: CSSProperties = { maxWidth: "none", maxHeight: "none", borderRadius: 0 };
const COMPACT_QUERY = "(max-width: 599px), (max-height: 599px)";

function useCompact(): boolean {
  const [compact, setCompact] = useState(() => window.matchMedia(COMPACT_QUERY).matches);
  useEffect(() => {
    const query = window.matchMedia(COMPACT_QUERY);
    const onChange = () => setCompact(query.matches);
    query.addEventListener("change", onChange);
    return () => query.removeEventListener("change", onChange);
  }, []);
  return compact;
}

const statusText: CSSProperties = { margin: 0, fontWeight: 600 };
const link: CSSProperties = { color: "#1d4ed8", textDecoration: "underline", fontSize: 13 };
const guard: CSSProperties = { position: "fixed", width: 1, height: 1, overflow: "hidden" };

const statusColor: Record<PaymentStatus, string> = {
  pending: "#1c1f24",
  success: "#047857",
  expired: "#b91c1c",
  insufficient_not_refunded: "#b91c1c",
  insufficient_refunded: "#b91c1c",
};

/**
 * The checkout URL of an intent: the gateway's hosted page, without its own page chrome.
 *
 * @example
 * checkoutUrl("https://pay.example.com/", "2MFV9kRD0IyNWauowhq2Bp3IUb3BWKPi", "en");
 * // "https://pay.example.com/pay/2MFV9kRD0IyNWauowhq2Bp3IUb3BWKPi?embed=1&lang=en"
 */
export function checkoutUrl(baseUrl: string, id: string, lang: PaymentLanguage): string {
  const base = baseUrl.replace(/\/+$/, "");
  return `${base}/pay/${encodeURIComponent(id)}?embed=1&lang=${encodeURIComponent(lang)}`;
}

/**
 * The dialog around the hosted checkout. PaymentProvider renders it while the modal is open;
 * it is not exported, so its markup can change without breaking anyone.
 *
 * @example
 * {open && intent ? (
 *   <PaymentModal intent={intent} baseUrl={baseUrl} lang="en" returnFocusTo={opener}
 *     onClose={close} onStatusMessage={applyStatus} />
 * ) : null}
 */
export function PaymentModal({
  intent,
  baseUrl,
  lang,
  returnFocusTo,
  onClose,
  onStatusMessage,
}: PaymentModalProps) {
  const t = MESSAGES[lang];
  const compact = useCompact();
  const titleId = useId();
  const dialogRef = useRef<HTMLDivElement>(null);
  const closeRef = useRef<HTMLButtonElement>(null);
  const frameRef = useRef<HTMLIFrameElement>(null);
  // Latest callbacks without re-running the effects below (which would move focus again).
  const onCloseRef = useRef(onClose);
  const onStatusRef = useRef(onStatusMessage);
  onCloseRef.current = onClose;
  onStatusRef.current = onStatusMessage;
  const id = intent.payment_intent_id;
  const src = checkoutUrl(baseUrl, id, lang);

  const returnFocusRef = useRef(returnFocusTo);
  useEffect(() => {
    // The opener may have been disabled while the intent was created and so have lost focus.
    const previous =
      returnFocusRef.current ??
      (document.activeElement instanceof HTMLElement ? document.activeElement : null);
    closeRef.current?.focus();
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        onCloseRef.current();
      }
    };
    document.addEventListener("keydown", onKeyDown, true);
    // The page behind must not scroll under a phone user's finger; restored as it was.
    const overflow = document.body.style.overflow;
    document.body.style.overflow = "hidden";
    return () => {
      document.removeEventListener("keydown", onKeyDown, true);
      document.body.style.overflow = overflow;
      if (previous?.isConnected) previous.focus();
    };
  }, []);

  useEffect(() => {
    let gatewayOrigin: string;
    try {
      gatewayOrigin = new URL(baseUrl, window.location.href).origin;
    } catch {
      return;
    }
    const onMessage = (event: MessageEvent) => {
      // Only the checkout in this modal's frame speaks for this payment.
      if (event.origin !== gatewayOrigin || event.source !== frameRef.current?.contentWindow)
        return;
      const m = event.data as Partial<CheckoutStatusMessage> | null;
      if (
        typeof m !== "object" ||
        m === null ||
        m.type !== "stablegate:status" ||
        m.payment_intent_id !== id ||
        typeof m.status !== "string" ||
        !STATUSES.has(m.status)
      ) {
        return;
      }
      onStatusRef.current({
        type: "stablegate:status",
        payment_intent_id: id,
        status: m.status,
        payment_tx_hash: typeof m.payment_tx_hash === "string" ? m.payment_tx_hash : null,
      });
    };
    window.addEventListener("message", onMessage);
    return () => window.removeEventListener("message", onMessage);
  }, [baseUrl, id]);

  // Focus guards: Tab past the last control, or out of the cross-origin frame (whose keys this
  // page never sees), lands on a guard that sends focus back into the dialog.
  const focusables = () =>
    Array.from(dialogRef.current?.querySelectorAll<HTMLElement>("button, a[href], iframe") ?? []);
  const toFirst = () => focusables()[0]?.focus();
  const toLast = () => focusables().at(-1)?.focus();

  const status = intent.status;
  const statusMessage =
    status === "success"
      ? t.success
      : status === "expired"
        ? t.expired
        : status === "pending"
          ? t.pending
          : t.insufficient;

  return createPortal(
    // biome-ignore lint/a11y/noStaticElementInteractions: a backdrop click is a pointer shortcut; Escape and the close button are the keyboard's ways out
    <div
      style={overlay}
      data-stablegate-overlay=""
      onMouseDown={(event) => {
        if (event.target === event.currentTarget) onCloseRef.current();
      }}
    >
      {/* biome-ignore lint/a11y: a focus guard, reached only by Tab, sends focus back in */}
      <div tabIndex={0} style={guard} onFocus={toLast} data-focus-guard="" />
      <div
        ref={dialogRef}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        lang={lang}
        style={compact ? { ...dialog, ...compactDialog } : dialog}
      >
        <div style={header}>
          <h2 id={titleId} style={heading}>
            {t.title} · {intent.fiat_amount} {intent.fiat_currency}
          </h2>
          <button
            ref={closeRef}
            type="button"
            aria-label={t.close}
            title={t.close}
            style={closeButton}
            onClick={() => onCloseRef.current()}
          >
            ×
          </button>
        </div>
        <iframe
          ref={frameRef}
          key={id}
          src={src}
          title={t.frameTitle}
          style={frame}
          // The hosted page's copy button writes the deposit address to the clipboard.
          allow="clipboard-write"
        />
        <div style={footer}>
          <p role="status" style={{ ...statusText, color: statusColor[status] }}>
            {statusMessage}
          </p>
          <a href={src.replace("embed=1&", "")} target="_blank" rel="noopener" style={link}>
            {t.openInTab}
          </a>
        </div>
      </div>
      {/* biome-ignore lint/a11y: a focus guard, reached only by Tab, sends focus back in */}
      <div tabIndex={0} style={guard} onFocus={toFirst} data-focus-guard="" />
    </div>,
    document.body,
  );
}
