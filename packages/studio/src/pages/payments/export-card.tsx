import { useState } from "react";
import { useOrg } from "../../api/session.ts";
import { Card, TextField } from "../../components/ui.tsx";
import { useI18n } from "../../i18n/index.tsx";

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Two CSV downloads for a date range. Plain links: the browser sends the session cookie with a
 * GET and saves the file itself (Content-Disposition: attachment), streamed, however long.
 */
export function ExportCard() {
  const { t } = useI18n();
  const org = useOrg();
  const today = new Date();
  const [from, setFrom] = useState(
    isoDay(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1))),
  );
  const [to, setTo] = useState(isoDay(today));
  const href = (what: "payments" | "withdrawals") => {
    const query = new URLSearchParams();
    if (from) query.set("from", from);
    if (to) query.set("to", to);
    return `/v1/admin/orgs/${org.id}/exports/${what}.csv?${query}`;
  };
  return (
    <Card title={t("exportTitle")}>
      <p className="muted">{t("exportLead")}</p>
      <div className="export-row">
        <TextField label={t("paymentsFrom")} type="date" value={from} onChange={setFrom} />
        <TextField label={t("paymentsTo")} type="date" value={to} onChange={setTo} />
        <a className="btn btn-secondary" href={href("payments")} download>
          {t("exportPayments")}
        </a>
        <a className="btn btn-secondary" href={href("withdrawals")} download>
          {t("exportWithdrawals")}
        </a>
      </div>
    </Card>
  );
}
