import { PageHeader } from "../../components/ui.tsx";
import { useI18n } from "../../i18n/index.tsx";
import { ApiKeysCard } from "./api-keys-card.tsx";
import { ClientsCard } from "./clients-card.tsx";
import { WebhookSecretCard } from "./webhook-secret-card.tsx";

/** /studio/orgs/<id>/developers: API keys, browser clients, the webhook signing secret. */
export function DevelopersPage() {
  const { t } = useI18n();
  return (
    <div className="page">
      <PageHeader title={t("navDevelopers")} description={t("developersLead")} />
      <div className="stack">
        <ApiKeysCard />
        <ClientsCard />
        <WebhookSecretCard />
      </div>
    </div>
  );
}
