import { EmptyState, PageHeader } from "../components/ui.tsx";
import { type MessageKey, useI18n } from "../i18n/index.tsx";

/** A page of the navigation not built yet: says so rather than showing a blank screen. */
export function placeholderPage(title: MessageKey) {
  return function PlaceholderPage() {
    const { t } = useI18n();
    return (
      <div className="page">
        <PageHeader title={t(title)} />
        <EmptyState title={t("emptyTitle")} />
      </div>
    );
  };
}
