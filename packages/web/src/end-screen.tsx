import type { CheckoutPayment } from "./api.ts";
import type { Translate } from "./i18n.ts";
import { TransferList, TxLine } from "./transfer-list.tsx";

/** Whether a payment sent after the deadline is part of this payment's story. */
export const hasLatePayment = (p: CheckoutPayment) =>
  p.late_amount !== null && p.late_amount !== "0";

export function EndScreen({
  payment: p,
  t,
  language,
}: {
  payment: CheckoutPayment;
  t: Translate;
  language: string;
}) {
  const transfers = <TransferList payment={p} t={t} language={language} />;
  if (p.status === "success") {
    return (
      <section className="end end-success" data-status={p.status}>
        <EndIcon kind="success" />
        <h1>{t("paidTitle")}</h1>
        <p>{t("paidBody", { amount: p.crypto_amount, symbol: p.symbol })}</p>
        {hasLatePayment(p) ? <LateNotice payment={p} t={t} /> : null}
        {p.transfers.length > 0 ? (
          transfers
        ) : p.payment_tx_hash ? (
          <TxLine
            label={t("transaction")}
            hash={p.payment_tx_hash}
            explorer={p.explorer_url}
            t={t}
          />
        ) : null}
        <ReturnAction payment={p} t={t} kind="done" />
      </section>
    );
  }
  if (p.status === "expired") {
    if (hasLatePayment(p)) {
      // Paid, but too late: say so, and follow the refund until it is sent.
      return (
        <section className="end end-late" data-status="late">
          <EndIcon kind="underpaid" />
          <h1>{t("lateTitle")}</h1>
          <LateNotice payment={p} t={t} />
          {transfers}
          <ReturnAction payment={p} t={t} kind="back" />
        </section>
      );
    }
    return (
      <section className="end end-expired" data-status={p.status}>
        <EndIcon kind="expired" />
        <h1>{t("expiredTitle")}</h1>
        <p>{t("expiredBody")}</p>
        <ReturnAction payment={p} t={t} kind="back" />
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
      {hasLatePayment(p) ? <LateNotice payment={p} t={t} /> : null}
      {transfers}
      {refunded ? <ReturnAction payment={p} t={t} kind="back" /> : null}
    </section>
  );
}

/** A payment that arrived after the deadline, and where its refund stands. */
function LateNotice({ payment: p, t }: { payment: CheckoutPayment; t: Translate }) {
  const late = BigInt(p.late_amount === null ? "0" : toBase(p.late_amount, p.decimals));
  const refundedBase = BigInt(
    p.late_refund_amount === null ? "0" : toBase(p.late_refund_amount, p.decimals),
  );
  const done = late > 0n && refundedBase >= late;
  return (
    <div className="late" data-late-state={done ? "refunded" : "refunding"}>
      <p>{t("lateBody", { amount: p.late_amount ?? "0", symbol: p.symbol })}</p>
      {done ? (
        <>
          <p className="late-refunded">
            {t("lateRefunded", { amount: p.late_refund_amount ?? "0", symbol: p.symbol })}
          </p>
          {p.late_refund_tx_hash ? (
            <TxLine
              label={t("refundTransaction")}
              hash={p.late_refund_tx_hash}
              explorer={p.explorer_url}
              t={t}
            />
          ) : null}
        </>
      ) : (
        <p className="late-refunding">
          <span className="spinner" aria-hidden="true" />
          {t("lateRefunding")}
        </p>
      )}
      {p.status === "expired" ? <p>{t("lateNewLink")}</p> : null}
    </div>
  );
}

/** A decimal token amount in base units, for comparing two amounts of one token. */
function toBase(amount: string, decimals: number): string {
  const [whole = "0", fraction = ""] = amount.split(".");
  return `${whole}${fraction.padEnd(decimals, "0").slice(0, decimals)}`.replace(/^0+(?=\d)/, "");
}

/**
 * "Done" after a payment, "Back to shop" after one that failed: to the merchant's return_url,
 * in the whole window (the page may be framed by the shop). Without one, a plain closing line.
 */
function ReturnAction(props: { payment: CheckoutPayment; t: Translate; kind: "done" | "back" }) {
  const { payment: p, t } = props;
  if (p.return_url === null) {
    return props.kind === "done" ? <p className="close-hint">{t("closePage")}</p> : null;
  }
  return (
    <a
      className={props.kind === "done" ? "button primary" : "button"}
      href={p.return_url}
      target="_top"
      rel="noopener"
    >
      {props.kind === "done" ? t("done") : t("backToShop")}
    </a>
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
