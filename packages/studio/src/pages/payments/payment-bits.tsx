import { Badge, type Tone } from "../../components/ui.tsx";
import { shortHex } from "../../format.ts";
import { type MessageKey, useI18n } from "../../i18n/index.tsx";

const STATE_TONES: Record<string, Tone> = {
  pending: "info",
  submitted: "info",
  sent: "info",
  seen: "info",
  waiting_treasury: "warning",
  retry: "warning",
  delivered: "success",
  confirmed: "success",
  failed: "danger",
  orphaned: "danger",
};

/** A delivery's, transfer's, refund's or collection's state as a badge. */
export function StateBadge({ state }: { state: string }) {
  const { t } = useI18n();
  const key = `state_${state}` as MessageKey;
  return (
    <Badge tone={STATE_TONES[state] ?? "neutral"}>{state in STATE_TONES ? t(key) : state}</Badge>
  );
}

/** A transaction hash (or address), linked to the chain's explorer when it has one. */
export function HashLink({ hash, href }: { hash: string | null; href?: string | null }) {
  const { t } = useI18n();
  if (!hash) return <span className="muted">—</span>;
  if (!href) {
    return (
      <code className="mono" title={hash}>
        {shortHex(hash)}
      </code>
    );
  }
  return (
    <a
      className="mono"
      href={href}
      target="_blank"
      rel="noreferrer noopener"
      title={hash}
      aria-label={t("viewOnExplorer", { hash: shortHex(hash) })}
    >
      {shortHex(hash)}
    </a>
  );
}

/** The merchant's order id in an intent's order_data (order_id, else orderId), if any. */
export function orderIdOf(orderData: Record<string, unknown> | null | undefined): string | null {
  const v = orderData?.order_id ?? orderData?.orderId;
  return v === undefined || v === null ? null : String(v);
}
