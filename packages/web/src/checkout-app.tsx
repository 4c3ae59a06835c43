import { type CSSProperties, type ReactNode, useEffect, useMemo, useState } from "react";
import { type CheckoutPayment, fetchPayment, followPayment, PaymentNotFoundError } from "./api.ts";
import { accentColours } from "./brand.ts";
import { EndScreen, hasLatePayment } from "./end-screen.tsx";
import { LANGUAGES, type Language, type Translate, translator } from "./i18n.ts";
import { PendingScreen } from "./pending-screen.tsx";

export interface CheckoutAppProps {
  paymentIntentId: string;
  /** Inside the React SDK's modal: no page chrome, status changes posted to the parent. */
  embed: boolean;
  initialLanguage: Language;
}

const RETRY_MS = 3_000;

export function CheckoutApp({ paymentIntentId, embed, initialLanguage }: CheckoutAppProps) {
  const [language, setLanguage] = useState(initialLanguage);
  const t = useMemo(() => translator(language), [language]);
  const [payment, setPayment] = useState<CheckoutPayment>();
  // Local clock minus the gateway's, so the countdown is right on a phone with a wrong clock.
  const [clockOffsetMs, setClockOffsetMs] = useState(0);
  const [notFound, setNotFound] = useState(false);
  const [offline, setOffline] = useState(false);

  useEffect(() => {
    // The modal around the frame draws the card's edge; the page behind it is plain.
    document.documentElement.classList.toggle("embedded", embed);
  }, [embed]);

  const merchantName = payment?.merchant.name;
  useEffect(() => {
    document.documentElement.lang = language;
    document.title = merchantName ? `${merchantName} · ${t("documentTitle")}` : t("documentTitle");
  }, [language, t, merchantName]);

  useEffect(() => {
    let stopFollowing: (() => void) | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let cancelled = false;
    const accept = (p: CheckoutPayment) => {
      setPayment(p);
      setClockOffsetMs(Date.now() - p.server_time * 1000);
      setOffline(false);
    };
    const load = async () => {
      try {
        const first = await fetchPayment(paymentIntentId);
        if (cancelled) return;
        accept(first);
        // Followed while the gateway says it may still change (`live`): after the deadline too,
        // so that a payment sent too late, and its refund, show up here as they happen.
        if (!first.live) return;
        stopFollowing = followPayment(paymentIntentId, {
          onPayment: accept,
          onError: () => setOffline(true),
          isFinal: (p) => !p.live,
        });
      } catch (error) {
        if (cancelled) return;
        if (error instanceof PaymentNotFoundError) {
          setNotFound(true);
          return;
        }
        setOffline(true);
        retry = setTimeout(load, RETRY_MS);
      }
    };
    void load();
    return () => {
      cancelled = true;
      stopFollowing?.();
      if (retry !== undefined) clearTimeout(retry);
    };
  }, [paymentIntentId]);

  const status = payment?.status;
  const txHash = payment?.payment_tx_hash ?? null;
  useEffect(() => {
    if (!embed || status === undefined || window.parent === window) return;
    // Nothing here is secret (the parent opened this very payment), so any parent origin may
    // listen; a parent must check event.origin against the gateway before trusting a message.
    window.parent.postMessage(
      {
        type: "stablegate:status",
        payment_intent_id: paymentIntentId,
        status,
        payment_tx_hash: txHash,
      },
      "*",
    );
  }, [embed, paymentIntentId, status, txHash]);

  const changeLanguage = (next: Language) => {
    setLanguage(next);
    const url = new URL(window.location.href);
    url.searchParams.set("lang", next);
    window.history.replaceState(null, "", url);
  };

  let content: ReactNode;
  if (notFound) {
    content = (
      <>
        <h1>{t("notFoundTitle")}</h1>
        <p>{t("notFoundBody")}</p>
      </>
    );
  } else if (payment === undefined) {
    content = <p>{offline ? t("loadError") : t("loading")}</p>;
  } else if (payment.status === "pending") {
    content = (
      <PendingScreen
        payment={payment}
        clockOffsetMs={clockOffsetMs}
        t={t}
        language={language}
        onPayment={(p) => setPayment(p)}
      />
    );
  } else {
    content = <EndScreen payment={payment} t={t} language={language} />;
  }

  const colours = accentColours(payment?.merchant.accent_color ?? null);
  const style = {
    "--accent": colours.accent,
    "--on-accent": colours.onAccent,
    "--accent-text": colours.accentText,
    "--accent-dark": colours.accentDark,
  } as CSSProperties;

  return (
    <div className={embed ? "shell embed" : "shell"} style={style}>
      {payment ? <MerchantHeader payment={payment} /> : null}
      <main className="card">
        {content}
        {offline && payment !== undefined ? (
          <p className="notice" role="alert">
            {t("loadError")}
          </p>
        ) : null}
        <div className="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
          {payment ? statusAnnouncement(payment, t) : ""}
        </div>
      </main>
      {payment ? <OrderSummary payment={payment} t={t} /> : null}
      <footer className="page-footer">
        <LanguageSwitcher language={language} onChange={changeLanguage} t={t} />
        {embed ? null : <p className="brand">{t("poweredBy")}</p>}
      </footer>
    </div>
  );
}

/** Who is asking to be paid: the merchant's logo (served by the gateway) and name. */
function MerchantHeader({ payment }: { payment: CheckoutPayment }) {
  const { name, logo_url: logo } = payment.merchant;
  return (
    <header className="merchant">
      {logo ? (
        <img className="merchant-logo" src={logo} alt="" />
      ) : (
        <span className="merchant-initial" aria-hidden="true">
          {Array.from(name)[0]?.toUpperCase()}
        </span>
      )}
      <span className="merchant-name">{name}</span>
    </header>
  );
}

/** The order: the merchant's description and the total, beside the payment on a wide screen. */
function OrderSummary({ payment: p, t }: { payment: CheckoutPayment; t: Translate }) {
  return (
    <section
      className={p.description === null ? "summary no-description" : "summary"}
      aria-labelledby="summary-title"
    >
      <h2 id="summary-title">{t("orderSummary")}</h2>
      <p className="summary-amount">
        {p.fiat_amount} {p.fiat_currency}
      </p>
      {p.description === null ? null : <p className="description">{p.description}</p>}
      <p className="summary-total">
        <span>{t("total")}</span>
        <strong>
          {p.fiat_amount} {p.fiat_currency}
        </strong>
      </p>
    </section>
  );
}

function statusAnnouncement(p: CheckoutPayment, t: Translate): string {
  switch (p.status) {
    case "pending":
      return t("statusPending");
    case "success":
      return t("paidTitle");
    case "expired":
      return hasLatePayment(p) ? t("statusLate") : t("expiredTitle");
    default:
      return t("underpaidTitle");
  }
}

function LanguageSwitcher(props: {
  language: Language;
  onChange(language: Language): void;
  t: Translate;
}) {
  return (
    <nav className="languages" aria-label={props.t("language")}>
      {LANGUAGES.map((l) => (
        <button
          key={l.code}
          type="button"
          lang={l.code}
          aria-pressed={l.code === props.language}
          onClick={() => props.onChange(l.code)}
        >
          {l.label}
        </button>
      ))}
    </nav>
  );
}
