import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { ApiError, api, unwrap } from "../../api/client.ts";
import type { components } from "../../api/schema";
import { useOrg } from "../../api/session.ts";
import { type ColumnDef, DataTable } from "../../components/data-table.tsx";
import { ModalDialog } from "../../components/dialog.tsx";
import { DialogActions } from "../../components/dialog-actions.tsx";
import { lines, TextAreaField } from "../../components/text-area-field.tsx";
import { Button, Card, errorMessage, Notice, TextField } from "../../components/ui.tsx";
import { formatDateTime } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";

type Client = components["schemas"]["AdminClient"];

const clientsKey = (orgId: number) => ["org", orgId, "clients"] as const;

export function ClientsCard() {
  const { t, language } = useI18n();
  const org = useOrg();
  const clients = useQuery({
    queryKey: clientsKey(org.id),
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/clients", { params: { path: { orgId: String(org.id) } } }),
      ),
  });
  const columns: ColumnDef<Client>[] = [
    {
      header: t("clientsName"),
      accessorKey: "name",
      cell: (c) => (
        <div className="people">
          <span>{c.row.original.name}</span>
          <span className="mono muted">{c.row.original.client_id}</span>
        </div>
      ),
    },
    {
      header: t("clientsOrigins"),
      accessorKey: "allowed_origins",
      cell: (c) => <List items={c.row.original.allowed_origins} />,
    },
    {
      header: t("clientsCallbackHosts"),
      accessorKey: "allowed_callback_hosts",
      cell: (c) => <List items={c.row.original.allowed_callback_hosts} />,
    },
    {
      header: t("keysCreated"),
      accessorKey: "created_at",
      cell: (c) => formatDateTime(c.row.original.created_at, language),
    },
    {
      header: () => <span className="visually-hidden">{t("actions")}</span>,
      id: "actions",
      cell: (c) => (org.can("clients:write") ? <ClientDialog client={c.row.original} /> : null),
    },
  ];
  return (
    <Card title={t("clientsTitle")} actions={org.can("clients:write") ? <ClientDialog /> : null}>
      <p className="muted">{t("clientsLead")}</p>
      <DataTable
        label={t("clientsTitle")}
        columns={columns}
        data={clients.data}
        isLoading={clients.isPending}
        error={clients.error}
        onRetry={() => clients.refetch()}
        getRowId={(c) => c.client_id}
        empty={{ title: t("clientsEmpty"), body: t("clientsEmptyBody") }}
      />
    </Card>
  );
}

function List({ items }: { items: string[] }) {
  const { t } = useI18n();
  if (items.length === 0) return <span className="muted">{t("none")}</span>;
  return (
    <ul className="plain-list mono">
      {items.map((i) => (
        <li key={i}>{i}</li>
      ))}
    </ul>
  );
}

// The API names a bad entry by the list ("allowed_origins.2") or by what it is ("origin").
const FIELD_NAMES: Record<string, string[]> = {
  name: ["name"],
  allowed_origins: ["allowed_origins", "origin"],
  allowed_callback_hosts: ["allowed_callback_hosts", "callback_host"],
};

function listError(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError) || error.field === undefined) return undefined;
  const named = error.field;
  return FIELD_NAMES[field]?.some((f) => named === f || named.startsWith(`${f}.`))
    ? error.message
    : undefined;
}

/** New client (no `client`), or edit one. */
function ClientDialog({ client }: { client?: Client }) {
  const { t } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const [name, setName] = useState(client?.name ?? "");
  const [origins, setOrigins] = useState(client?.allowed_origins.join("\n") ?? "");
  const [hosts, setHosts] = useState(client?.allowed_callback_hosts.join("\n") ?? "");
  const save = useMutation({
    mutationFn: () => {
      const body = { name, allowed_origins: lines(origins), allowed_callback_hosts: lines(hosts) };
      return client
        ? unwrap(
            api.PATCH("/v1/admin/orgs/{orgId}/clients/{clientId}", {
              params: { path: { orgId: String(org.id), clientId: client.client_id } },
              body,
            }),
          )
        : unwrap(
            api.POST("/v1/admin/orgs/{orgId}/clients", {
              params: { path: { orgId: String(org.id) } },
              body,
            }),
          );
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: clientsKey(org.id) }),
  });
  const fieldOf = (f: string) => listError(save.error, f);
  const general =
    save.error && !["name", "allowed_origins", "allowed_callback_hosts"].some((f) => fieldOf(f))
      ? errorMessage(save.error, t)
      : null;
  const title = client ? t("clientsEditTitle", { name: client.name }) : t("clientsCreate");
  return (
    <ModalDialog
      title={title}
      trigger={
        <Button size="small" variant={client ? "secondary" : "primary"}>
          {client ? t("edit") : t("clientsCreate")}
        </Button>
      }
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
            label={t("clientsName")}
            value={name}
            onChange={setName}
            isRequired
            autoFocus
            error={fieldOf("name")}
          />
          <TextAreaField
            label={t("clientsOrigins")}
            value={origins}
            onChange={setOrigins}
            placeholder="https://shop.example"
            description={t("clientsOriginsHelp")}
            error={fieldOf("allowed_origins")}
          />
          <TextAreaField
            label={t("clientsCallbackHosts")}
            value={hosts}
            onChange={setHosts}
            placeholder="shop.example"
            description={t("clientsCallbackHostsHelp")}
            error={fieldOf("allowed_callback_hosts")}
          />
          {general && <Notice tone="danger">{general}</Notice>}
          <DialogActions onCancel={close} submitLabel={t("save")} isPending={save.isPending} />
        </form>
      )}
    </ModalDialog>
  );
}
