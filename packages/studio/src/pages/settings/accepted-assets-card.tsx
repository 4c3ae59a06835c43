import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../../api/client.ts";
import { useOrg } from "../../api/session.ts";
import { otherError } from "../../components/dialog-actions.tsx";
import { Button, Card, Notice, TextField } from "../../components/ui.tsx";
import { useI18n } from "../../i18n/index.tsx";
import { type OrgSettings, settingsQuery } from "./settings-api.ts";

const pairs = (s: OrgSettings) => s.accepted_assets.map((a) => `${a.chain_id}/${a.symbol}`);

/**
 * The chains and tokens payers may pay in (docs/accepted-assets.md): typed as chain/SYMBOL
 * pairs; the gateway checks each (known, watched) and always keeps the default pair.
 */
export function AcceptedAssetsCard({
  settings,
  canWrite,
}: {
  settings: OrgSettings;
  canWrite: boolean;
}) {
  const { t } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const [text, setText] = useState(pairs(settings).join(", "));
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/v1/admin/orgs/{orgId}/settings", {
          params: { path: { orgId: String(org.id) } },
          body: {
            accepted_assets: text
              .split(/[\s,]+/)
              .filter((p) => p !== "")
              .map((p) => {
                const [chain_id = "", symbol = ""] = p.split("/");
                return { chain_id, symbol };
              }),
          },
        }),
      ),
    onSuccess: (saved) => {
      queryClient.setQueryData(settingsQuery(org.id).queryKey, saved);
      setText(pairs(saved).join(", "));
    },
  });
  const general = otherError(save.error, [], t);
  return (
    <Card title={t("settingsAssets")}>
      <p className="muted">{t("settingsAssetsLead")}</p>
      <form
        className="form narrow"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <TextField
          label={t("settingsAssetsField")}
          value={text}
          onChange={setText}
          mono
          placeholder="arb/USDT, base/USDC"
          description={t("settingsAssetsHelp", {
            default: `${settings.default_chain_id}/${settings.default_token_symbol}`,
          })}
          isDisabled={!canWrite}
        />
        {save.isSuccess && <Notice tone="success">{t("settingsAssetsSaved")}</Notice>}
        {general && <Notice tone="danger">{general}</Notice>}
        {canWrite && (
          <div className="form-actions">
            <Button type="submit" variant="primary" isPending={save.isPending}>
              {t("settingsAssetsSave")}
            </Button>
          </div>
        )}
      </form>
    </Card>
  );
}
