import QRCode from "qrcode";
import { useEffect, useState } from "react";
import type { CheckoutPayment } from "./api.ts";
import { AssetPicker } from "./asset-picker.tsx";
import { erc20TransferUri } from "./eip681.ts";
import type { Translate } from "./i18n.ts";
import { TransferList } from "./transfer-list.tsx";
import { WalletPay } from "./wallet-pay.tsx";

export function PendingScreen(props: {
  payment: CheckoutPayment;
  clockOffsetMs: number;
  t: Translate;
  /** The payer chose another chain or token (the payment re-quoted). */
  onPayment?(payment: CheckoutPayment): void;
  language: string;
}) {
  const { payment: p, t } = props;
  const uri = erc20TransferUri({
    tokenAddress: p.token_address,
    evmChainId: p.evm_chain_id,
    to: p.payment_address,
    amountBaseUnits: p.crypto_amount_base,
  });
  const amount = { amount: p.crypto_amount, symbol: p.symbol, chain: p.chain_name };
  return (
    <>
      <h1>{t("payTitle", amount)}</h1>
      <p className="fiat">
        {t("fiatEquivalent", { fiat: p.fiat_amount, currency: p.fiat_currency })}
      </p>
      {/* The status first and, on a phone, pinned while the payer scrolls to the address. */}
      <div className="status-bar">
        <p className="waiting">
          <span className="spinner" aria-hidden="true" />
          {t("waiting")}
        </p>
        <p className="time-left">
          <span className="field-label">{t("timeLeft")} </span>
          <Countdown deadline={p.payment_deadline} clockOffsetMs={props.clockOffsetMs} t={t} />
        </p>
      </div>
      {p.received_amount !== null ? (
        <p className="notice">
          {t("receivedSoFar", {
            received: p.received_amount,
            due: p.crypto_amount,
            symbol: p.symbol,
          })}
        </p>
      ) : null}
      <AssetPicker payment={p} onChosen={(next) => props.onPayment?.(next)} t={t} />
      <dl className="facts">
        <div>
          <dt>{t("network")}</dt>
          <dd>{p.chain_name}</dd>
        </div>
      </dl>
      <div className="qr">
        <QrImage uri={uri} alt={t("qrAlt", { ...amount, address: p.payment_address })} />
        <a className="wallet-link" href={uri}>
          {t("openInWallet")}
        </a>
      </div>
      <p>{t("sendExactly", amount)}</p>
      <CopyField label={t("amount")} value={p.crypto_amount} unit={p.symbol} t={t} />
      <CopyField label={t("depositAddress")} value={p.payment_address} t={t} mono />
      <WalletPay payment={p} t={t} />
      <TransferList payment={p} t={t} language={props.language} />
    </>
  );
}

function secondsLeft(deadline: number, clockOffsetMs: number): number {
  return Math.max(0, Math.ceil((deadline * 1000 - (Date.now() - clockOffsetMs)) / 1000));
}

function Countdown(props: { deadline: number; clockOffsetMs: number; t: Translate }) {
  const { deadline, clockOffsetMs } = props;
  const [seconds, setSeconds] = useState(() => secondsLeft(deadline, clockOffsetMs));
  useEffect(() => {
    setSeconds(secondsLeft(deadline, clockOffsetMs));
    const timer = setInterval(() => setSeconds(secondsLeft(deadline, clockOffsetMs)), 1000);
    return () => clearInterval(timer);
  }, [deadline, clockOffsetMs]);
  if (seconds === 0) return <span className="time-up">{props.t("timeUp")}</span>;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  const text = h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  // role=timer is not announced on every tick; the visible figure is enough.
  return (
    <span role="timer" className="countdown">
      {text}
    </span>
  );
}

function QrImage(props: { uri: string; alt: string }) {
  const [src, setSrc] = useState<string>();
  useEffect(() => {
    let current = true;
    // Rendered at twice the displayed size so it stays sharp on high-density screens.
    QRCode.toDataURL(props.uri, { errorCorrectionLevel: "M", margin: 2, width: 440 }).then(
      (url) => {
        if (current) setSrc(url);
      },
      () => setSrc(undefined),
    );
    return () => {
      current = false;
    };
  }, [props.uri]);
  if (!src) return <div className="qr-placeholder" />;
  return <img className="qr-image" src={src} alt={props.alt} width={220} height={220} />;
}

function CopyField(props: {
  label: string;
  value: string;
  unit?: string;
  mono?: boolean;
  t: Translate;
}) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state !== "copied") return;
    const timer = setTimeout(() => setState("idle"), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
      setState("copied");
    } catch {
      setState("failed");
    }
  };
  return (
    <div className="field">
      <span className="field-label">{props.label}</span>
      <div className="field-row">
        <span className={props.mono ? "field-value mono" : "field-value"}>
          {props.value}
          {props.unit ? <span className="unit"> {props.unit}</span> : null}
        </span>
        <button type="button" className="copy" onClick={copy}>
          {state === "copied" ? props.t("copied") : props.t("copy")}
          <span className="visually-hidden"> {props.label}</span>
        </button>
      </div>
      {state === "failed" ? (
        <p className="error" role="alert">
          {props.t("copyFailed")}
        </p>
      ) : null}
    </div>
  );
}
