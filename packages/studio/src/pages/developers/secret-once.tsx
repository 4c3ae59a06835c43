import { CopyButton, Notice } from "../../components/ui.tsx";
import { useI18n } from "../../i18n/index.tsx";

/** A secret the API gives once (a key, a webhook secret, an invitation link): copy it now. */
export function SecretOnce({ label, value }: { label: string; value: string }) {
  const { t } = useI18n();
  return (
    <div className="secret-once">
      <Notice tone="warning">{t("secretOnceWarning")}</Notice>
      <p className="field-label">{label}</p>
      <div className="secret-value">
        <code className="mono">{value}</code>
        <CopyButton value={value} label={t("copyLabel", { what: label })} />
      </div>
    </div>
  );
}
