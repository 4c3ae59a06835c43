import { type ReactNode, useEffect, useMemo, useState } from "react";
import { type CheckoutPayment, fetchPayment, followPayment, PaymentNotFoundError } from "./api.ts";
import { EndScreen } from "./end-screen.tsx";
import { LANGUAGES, type Language, type Translate, translator } from "./i18n.ts";
import { PendingScreen } from "./pending-screen.tsx";
import { isFinalStatus } from "./status.ts";

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

  useEffect(() => {
    document.documentElement.lang = language;
    document.title = t("documentTitle");
  }, [language, t]);

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
        if (isFinalStatus(first.status)) return;
        stopFollowing = followPayment(paymentIntentId, {
          onPayment: accept,
          onError: () => setOffline(true),
          isFinal: isFinalStatus,
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
        onPayment={(p) => setPayment(p)}
      />
    );
  } else {
    content = <EndScreen payment={payment} t={t} />;
  }

  return (
    <div className={embed ? "shell embed" : "shell"}>
      {embed ? null : (
        <header className="brand">
          <span>{t("brand")}</span>
        </header>
      )}
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
      <LanguageSwitcher language={language} onChange={changeLanguage} t={t} />
    </div>
  );
}

function statusAnnouncement(p: CheckoutPayment, t: Translate): string {
  switch (p.status) {
    case "pending":
      return t("statusPending");
    case "success":
      return t("paidTitle");
    case "expired":
      return t("expiredTitle");
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
