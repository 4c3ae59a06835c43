import type { CheckoutPayment } from "./api.ts";
import type { Translate } from "./i18n.ts";

export function EndScreen({ payment: p, t }: { payment: CheckoutPayment; t: Translate }) {
  if (p.status === "success") {
    return (
      <section className="end end-success" data-status={p.status}>
        <EndIcon kind="success" />
        <h1>{t("paidTitle")}</h1>
        <p>{t("paidBody", { amount: p.crypto_amount, symbol: p.symbol })}</p>
        {p.payment_tx_hash ? (
          <TxLine
            label={t("transaction")}
            hash={p.payment_tx_hash}
            explorer={p.explorer_url}
            t={t}
          />
        ) : null}
      </section>
    );
  }
  if (p.status === "expired") {
    return (
      <section className="end end-expired" data-status={p.status}>
        <EndIcon kind="expired" />
        <h1>{t("expiredTitle")}</h1>
        <p>{t("expiredBody")}</p>
      </section>
    );
  }
  // insufficient_not_refunded, then insufficient_refunded once the refund is sent.
  const refunded = p.status === "insufficient_refunded";
  return (
    <section className="end end-underpaid" data-status={p.status}>
      <EndIcon kind="underpaid" />
      <h1>{t("underpaidTitle")}</h1>
      <p>
        {t("underpaidBody", {
          received: p.received_amount ?? "0",
          due: p.crypto_amount,
          symbol: p.symbol,
        })}
      </p>
      {refunded ? (
        <>
          <p>
            {t("refunded", {
              amount: p.refund_amount ?? p.received_amount ?? "0",
              symbol: p.symbol,
            })}
          </p>
          {p.refund_tx_hash ? (
            <TxLine
              label={t("refundTransaction")}
              hash={p.refund_tx_hash}
              explorer={p.explorer_url}
              t={t}
            />
          ) : null}
        </>
      ) : (
        <p>{t("refundPending")}</p>
      )}
    </section>
  );
}

function TxLine(props: { label: string; hash: string; explorer: string | null; t: Translate }) {
  return (
    <div className="tx">
      <span className="field-label">{props.label}</span>
      <code className="mono tx-hash">{props.hash}</code>
      {props.explorer ? (
        <a href={`${props.explorer}/tx/${props.hash}`} target="_blank" rel="noopener noreferrer">
          {props.t("viewOnExplorer")}
        </a>
      ) : null}
    </div>
  );
}

// Drawn, not typed: emoji and symbol glyphs are missing from many phones' and servers' fonts.
const ICON_PATHS = {
  success: "M7 12.5l3.2 3.2L17 9",
  expired: "M12 7v5l3 2M12 3.5a8.5 8.5 0 1 0 0 17a8.5 8.5 0 0 0 0-17z",
  underpaid: "M12 6.5v7M12 16.5v1",
} as const;

function EndIcon({ kind }: { kind: keyof typeof ICON_PATHS }) {
  return (
    <div className="end-icon">
      <svg viewBox="0 0 24 24" width="32" height="32" aria-hidden="true" focusable="false">
        <path
          d={ICON_PATHS[kind]}
          fill="none"
          stroke="currentColor"
          strokeWidth="2.4"
          strokeLinecap="round"
          strokeLinejoin="round"
        />
      </svg>
    </div>
  );
}
