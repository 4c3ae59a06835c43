import { Link } from "@tanstack/react-router";
import { PageHeader } from "../components/ui.tsx";
import { useI18n } from "../i18n/index.tsx";

export function NotFoundPage() {
  const { t } = useI18n();
  return (
    <div className="page">
      <PageHeader title={t("notFoundTitle")} description={t("notFoundBody")} />
      <Link to="/" className="btn btn-secondary">
        {t("brand")}
      </Link>
    </div>
  );
}
