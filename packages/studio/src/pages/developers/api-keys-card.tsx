import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../../api/client.ts";
import type { components } from "../../api/schema";
import { useOrg } from "../../api/session.ts";
import { type ColumnDef, DataTable } from "../../components/data-table.tsx";
import { ConfirmButton, ModalDialog } from "../../components/dialog.tsx";
import { DialogActions, otherError } from "../../components/dialog-actions.tsx";
import { Badge, Button, Card, fieldError, Notice, TextField } from "../../components/ui.tsx";
import { formatAmount, formatDateTime } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";
import { SecretOnce } from "./secret-once.tsx";

type ApiKey = components["schemas"]["AdminApiKey"];

const keysKey = (orgId: number) => ["org", orgId, "keys"] as const;
/** "" in a limit field means no limit. */
const limitValue = (v: string) => (v.trim() === "" ? null : v.trim());

export function ApiKeysCard() {
  const { t, language } = useI18n();
  const org = useOrg();
  const keys = useQuery({
    queryKey: keysKey(org.id),
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/keys", { params: { path: { orgId: String(org.id) } } }),
      ),
  });
  const columns: ColumnDef<ApiKey>[] = [
    {
      header: t("keysName"),
      accessorKey: "name",
      cell: (c) => (
        <>
          {c.row.original.name}{" "}
          {c.row.original.revoked_at && <Badge tone="neutral">{t("keysRevoked")}</Badge>}
        </>
      ),
    },
    {
      header: t("keysPrefix"),
      accessorKey: "prefix",
      cell: (c) => <span className="mono">{c.row.original.prefix}…</span>,
    },
    {
      header: t("keysCreated"),
      accessorKey: "created_at",
      cell: (c) => formatDateTime(c.row.original.created_at, language),
    },
    {
      header: t("keysLastUsed"),
      accessorKey: "last_used_at",
      cell: (c) =>
        c.row.original.last_used_at
          ? formatDateTime(c.row.original.last_used_at, language)
          : t("keysNeverUsed"),
    },
    {
      header: t("keysLimits"),
      id: "limits",
      cell: (c) => <KeyLimits apiKey={c.row.original} />,
    },
    {
      header: () => <span className="visually-hidden">{t("actions")}</span>,
      id: "actions",
      cell: (c) =>
        org.can("keys:write") && !c.row.original.revoked_at ? (
          <KeyActions apiKey={c.row.original} />
        ) : null,
    },
  ];
  return (
    <Card title={t("keysTitle")} actions={org.can("keys:write") ? <CreateKeyDialog /> : null}>
      <p className="muted">{t("keysLead")}</p>
      <DataTable
        label={t("keysTitle")}
        columns={columns}
        data={keys.data}
        isLoading={keys.isPending}
        error={keys.error}
        onRetry={() => keys.refetch()}
        getRowId={(k) => String(k.id)}
        empty={{ title: t("keysEmpty"), body: t("keysEmptyBody") }}
      />
    </Card>
  );
}

function KeyLimits({ apiKey: k }: { apiKey: ApiKey }) {
  const { t } = useI18n();
  if (k.max_transfer_amount === null && k.daily_transfer_cap === null) {
    return <span className="muted">{t("keysOrgLimits")}</span>;
  }
  return (
    <div className="people">
      {k.max_transfer_amount !== null && (
        <span>{t("keysPerTransfer", { amount: formatAmount(k.max_transfer_amount) })}</span>
      )}
      {k.daily_transfer_cap !== null && (
        <span>{t("keysPerDay", { amount: formatAmount(k.daily_transfer_cap) })}</span>
      )}
    </div>
  );
}

function CreateKeyDialog() {
  const { t } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [max, setMax] = useState("");
  const [cap, setCap] = useState("");
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/orgs/{orgId}/keys", {
          params: { path: { orgId: String(org.id) } },
          body: {
            name,
            ...(org.can("limits:write")
              ? { max_transfer_amount: limitValue(max), daily_transfer_cap: limitValue(cap) }
              : {}),
          },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keysKey(org.id) }),
  });
  const reset = () => {
    create.reset();
    setName("");
    setMax("");
    setCap("");
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const fields = ["name", "max_transfer_amount", "daily_transfer_cap"];
  const general = otherError(create.error, fields, t);
  return (
    <ModalDialog
      title={t("keysCreate")}
      trigger={
        <Button variant="primary" size="small" onPress={reset}>
          {t("keysCreate")}
        </Button>
      }
      isDismissable={false}
    >
      {(close) =>
        create.data ? (
          <>
            <SecretOnce label={t("keysSecret")} value={create.data.secret} />
            <p className="muted">{t("keysSecretUse")}</p>
            <div className="dialog-actions">
              <Button
                variant="primary"
                onPress={() => {
                  close();
                  reset();
                }}
              >
                {t("keysSecretSaved")}
              </Button>
            </div>
          </>
        ) : (
          <form className="form" onSubmit={submit} noValidate>
            <TextField
              label={t("keysName")}
              value={name}
              onChange={setName}
              description={t("keysNameHelp")}
              isRequired
              autoFocus
              error={fieldError(create.error, "name")}
            />
            {org.can("limits:write") && (
              <KeyLimitFields
                max={max}
                setMax={setMax}
                cap={cap}
                setCap={setCap}
                error={create.error}
              />
            )}
            {general && <Notice tone="danger">{general}</Notice>}
            <DialogActions
              onCancel={close}
              submitLabel={t("keysCreate")}
              isPending={create.isPending}
            />
          </form>
        )
      }
    </ModalDialog>
  );
}

function KeyActions({ apiKey: k }: { apiKey: ApiKey }) {
  const { t } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: keysKey(org.id) });
  const revoke = useMutation({
    mutationFn: () =>
      unwrap(
        api.DELETE("/v1/admin/orgs/{orgId}/keys/{keyId}", {
          params: { path: { orgId: String(org.id), keyId: String(k.id) } },
        }),
      ),
    onSuccess: refresh,
  });
  return (
    <div className="row-actions">
      <EditKeyDialog apiKey={k} />
      <ConfirmButton
        label={t("keysRevoke")}
        title={t("keysRevokeTitle", { name: k.name })}
        body={t("keysRevokeBody")}
        confirmLabel={t("keysRevoke")}
        onConfirm={() => revoke.mutateAsync()}
        isPending={revoke.isPending}
        error={revoke.error}
      />
    </div>
  );
}

function EditKeyDialog({ apiKey: k }: { apiKey: ApiKey }) {
  const { t } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const [name, setName] = useState(k.name);
  const [max, setMax] = useState(k.max_transfer_amount ?? "");
  const [cap, setCap] = useState(k.daily_transfer_cap ?? "");
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/v1/admin/orgs/{orgId}/keys/{keyId}", {
          params: { path: { orgId: String(org.id), keyId: String(k.id) } },
          body: {
            name,
            ...(org.can("limits:write")
              ? {
                  limits: {
                    max_transfer_amount: limitValue(max),
                    daily_transfer_cap: limitValue(cap),
                  },
                }
              : {}),
          },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keysKey(org.id) }),
  });
  const fields = ["name", "limits.max_transfer_amount", "limits.daily_transfer_cap"];
  const general = otherError(save.error, fields, t);
  return (
    <ModalDialog
      title={t("keysEditTitle", { name: k.name })}
      trigger={<Button size="small">{t("edit")}</Button>}
    >
      {(close) => (
        <form
          className="form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate(undefined, { onSuccess: close });
          }}
        >
          <TextField
            label={t("keysName")}
            value={name}
            onChange={setName}
            isRequired
            error={fieldError(save.error, "name")}
          />
          {org.can("limits:write") && (
            <KeyLimitFields
              max={max}
              setMax={setMax}
              cap={cap}
              setCap={setCap}
              error={save.error}
              field="limits."
            />
          )}
          {general && <Notice tone="danger">{general}</Notice>}
          <DialogActions onCancel={close} submitLabel={t("save")} isPending={save.isPending} />
        </form>
      )}
    </ModalDialog>
  );
}

/** A key's own limits (create and edit); the API names them under `limits.` when editing. */
function KeyLimitFields(props: {
  max: string;
  setMax(v: string): void;
  cap: string;
  setCap(v: string): void;
  error: unknown;
  field?: string;
}) {
  const { t } = useI18n();
  const prefix = props.field ?? "";
  return (
    <div className="form-row">
      <TextField
        label={t("keysMaxTransfer")}
        value={props.max}
        onChange={props.setMax}
        inputMode="decimal"
        description={t("limitsEmptyHelp")}
        error={fieldError(props.error, `${prefix}max_transfer_amount`)}
      />
      <TextField
        label={t("keysDailyCap")}
        value={props.cap}
        onChange={props.setCap}
        inputMode="decimal"
        description={t("limitsEmptyHelp")}
        error={fieldError(props.error, `${prefix}daily_transfer_cap`)}
      />
    </div>
  );
}
