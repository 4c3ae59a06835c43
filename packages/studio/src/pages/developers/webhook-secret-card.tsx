import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client.ts";
import { useOrg } from "../../api/session.ts";
import { ModalDialog } from "../../components/dialog.tsx";
import {
  Button,
  Card,
  DetailList,
  errorMessage,
  Notice,
  QueryState,
} from "../../components/ui.tsx";
import { formatDateTime } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";
import { SecretOnce } from "./secret-once.tsx";

const secretKey = (orgId: number) => ["org", orgId, "webhook-secret"] as const;

export function WebhookSecretCard() {
  const { t, language } = useI18n();
  const org = useOrg();
  const info = useQuery({
    queryKey: secretKey(org.id),
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/webhook-secret", {
          params: { path: { orgId: String(org.id) } },
        }),
      ),
  });
  return (
    <Card
      title={t("webhookTitle")}
      actions={org.can("webhook_secret:write") ? <RotateDialog /> : null}
    >
      <p className="muted">{t("webhookLead")}</p>
      <QueryState query={info}>
        {(s) => (
          <DetailList
            items={[
              [t("webhookCreated"), formatDateTime(s.created_at, language)],
              [
                t("webhookPrevious"),
                s.previous_expires_at && new Date(s.previous_expires_at) > new Date()
                  ? t("webhookPreviousUntil", {
                      date: formatDateTime(s.previous_expires_at, language),
                    })
                  : t("none"),
              ],
            ]}
          />
        )}
      </QueryState>
    </Card>
  );
}

function RotateDialog() {
  const { t, language } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const rotate = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/orgs/{orgId}/webhook-secret/rotate", {
          params: { path: { orgId: String(org.id) } },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: secretKey(org.id) }),
  });
  return (
    <ModalDialog
      title={t("webhookRotate")}
      isDismissable={false}
      trigger={
        <Button size="small" onPress={() => rotate.reset()}>
          {t("webhookRotate")}
        </Button>
      }
    >
      {(close) =>
        rotate.data ? (
          <>
            <SecretOnce label={t("webhookNewSecret")} value={rotate.data.secret} />
            <p>
              {t("webhookRotatedOverlap", {
                date: formatDateTime(rotate.data.previous_valid_until, language),
              })}
            </p>
            <div className="dialog-actions">
              <Button variant="primary" onPress={close}>
                {t("keysSecretSaved")}
              </Button>
            </div>
          </>
        ) : (
          <>
            <p>{t("webhookRotateBody")}</p>
            {rotate.error ? <Notice tone="danger">{errorMessage(rotate.error, t)}</Notice> : null}
            <div className="dialog-actions">
              <Button variant="ghost" onPress={close}>
                {t("cancel")}
              </Button>
              <Button variant="danger" isPending={rotate.isPending} onPress={() => rotate.mutate()}>
                {t("webhookRotateConfirm")}
              </Button>
            </div>
          </>
        )
      }
    </ModalDialog>
  );
}
