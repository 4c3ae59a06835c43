import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../../api/client.ts";
import type { components } from "../../api/schema";
import { type ColumnDef, DataTable, Pagination } from "../../components/data-table.tsx";
import { ConfirmButton, ModalDialog } from "../../components/dialog.tsx";
import { DialogActions, otherError } from "../../components/dialog-actions.tsx";
import {
  Badge,
  Button,
  Card,
  errorMessage,
  fieldError,
  Notice,
  PageHeader,
  TextField,
} from "../../components/ui.tsx";
import { formatDateTime } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";
import { SecretOnce } from "../developers/secret-once.tsx";

type Organization = components["schemas"]["OperatorOrganization"];

const orgsKey = ["operator", "organizations"] as const;

/** /studio/operator/organizations: every organisation of the gateway. */
export function OrganizationsPage() {
  const { t, language } = useI18n();
  const [pageNumber, setPageNumber] = useState(1);
  const orgs = useQuery({
    queryKey: [...orgsKey, pageNumber],
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/operator/organizations", {
          params: { query: { page_number: pageNumber, page_size: 25 } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const columns: ColumnDef<Organization>[] = [
    {
      header: t("orgsName"),
      accessorKey: "name",
      cell: (c) => (
        <Link to="/orgs/$orgId/overview" params={{ orgId: c.row.original.id }}>
          {c.row.original.name}
        </Link>
      ),
    },
    {
      header: t("orgsDefaults"),
      id: "defaults",
      cell: (c) => `${c.row.original.default_token_symbol} · ${c.row.original.default_chain_id}`,
    },
    {
      header: t("orgsFee"),
      accessorKey: "fee_bps",
      meta: { numeric: true },
      cell: (c) =>
        t("orgsFeeValue", { bps: c.row.original.fee_bps, percent: c.row.original.fee_bps / 100 }),
    },
    { header: t("orgsMembers"), accessorKey: "members", meta: { numeric: true } },
    {
      header: t("orgsState"),
      accessorKey: "suspended_at",
      cell: (c) =>
        c.row.original.suspended_at ? (
          <Badge tone="danger">{t("orgsSuspended")}</Badge>
        ) : (
          <Badge tone="success">{t("orgsActive")}</Badge>
        ),
    },
    {
      header: t("linksCreated"),
      accessorKey: "created_at",
      cell: (c) => formatDateTime(c.row.original.created_at, language),
    },
    {
      header: () => <span className="visually-hidden">{t("actions")}</span>,
      id: "actions",
      cell: (c) => (
        <div className="row-actions">
          <EditOrgDialog org={c.row.original} />
          <SuspendButton org={c.row.original} />
        </div>
      ),
    },
  ];
  return (
    <div className="page">
      <PageHeader
        title={t("navOrganizations")}
        description={t("orgsLead")}
        actions={<CreateOrgDialog />}
      />
      <Card>
        <DataTable
          label={t("navOrganizations")}
          columns={columns}
          data={orgs.data?.items}
          isLoading={orgs.isPending}
          error={orgs.error}
          onRetry={() => orgs.refetch()}
          getRowId={(o) => String(o.id)}
          empty={{ title: t("orgsEmpty") }}
        />
        <Pagination page={orgs.data} onChange={setPageNumber} />
      </Card>
    </div>
  );
}

/**
 * "1.5" -> 150 basis points; anything else goes to the API as it is, which names the field (typed
 * as the number the API expects, which only the API decides).
 */
function bps(percentText: string): number {
  const n = Number(percentText);
  return percentText.trim() !== "" && Number.isFinite(n)
    ? Math.round(n * 100)
    : (percentText as unknown as number);
}

function CreateOrgDialog() {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [chain, setChain] = useState("");
  const [token, setToken] = useState("USDT");
  const [fee, setFee] = useState("");
  const [ownerEmail, setOwnerEmail] = useState("");
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/operator/organizations", {
          body: {
            name,
            default_chain_id: chain,
            default_token_symbol: token,
            owner_email: ownerEmail,
            ...(fee.trim() === "" ? {} : { fee_bps: bps(fee) }),
          },
        }),
      ),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: orgsKey });
    },
  });
  const reset = () => {
    create.reset();
    setName("");
    setChain("");
    setFee("");
    setOwnerEmail("");
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const fields = ["name", "default_chain_id", "default_token_symbol", "fee_bps", "owner_email"];
  const general = otherError(create.error, fields, t);
  return (
    <ModalDialog
      title={t("orgsCreate")}
      isDismissable={false}
      trigger={
        <Button variant="primary" onPress={reset}>
          {t("orgsCreate")}
        </Button>
      }
    >
      {(close) =>
        create.data ? (
          <>
            <p>
              {t(create.data.invitation.email_sent ? "orgsCreatedEmailed" : "orgsCreatedLead", {
                name: create.data.organization.name,
                email: ownerEmail,
              })}
            </p>
            <SecretOnce label={t("teamInviteLink")} value={create.data.invitation.url} />
            <div className="dialog-actions">
              <Button variant="primary" onPress={close}>
                {t("close")}
              </Button>
            </div>
          </>
        ) : (
          <form className="form" onSubmit={submit} noValidate>
            <TextField
              label={t("orgsName")}
              value={name}
              onChange={setName}
              isRequired
              autoFocus
              error={fieldError(create.error, "name")}
            />
            <div className="form-row">
              <TextField
                label={t("orgsChain")}
                value={chain}
                onChange={setChain}
                placeholder="arb"
                isRequired
                description={t("orgsChainHelp")}
                error={fieldError(create.error, "default_chain_id")}
              />
              <TextField
                label={t("orgsToken")}
                value={token}
                onChange={setToken}
                isRequired
                error={fieldError(create.error, "default_token_symbol")}
              />
            </div>
            <TextField
              label={t("orgsFeePercent")}
              value={fee}
              onChange={setFee}
              inputMode="decimal"
              placeholder="0"
              description={t("orgsFeeHelp")}
              error={fieldError(create.error, "fee_bps")}
            />
            <TextField
              label={t("orgsOwnerEmail")}
              type="email"
              value={ownerEmail}
              onChange={setOwnerEmail}
              isRequired
              description={t("orgsOwnerEmailHelp")}
              error={fieldError(create.error, "owner_email")}
            />
            {general && <Notice tone="danger">{general}</Notice>}
            <DialogActions
              onCancel={close}
              submitLabel={t("orgsCreate")}
              isPending={create.isPending}
            />
          </form>
        )
      }
    </ModalDialog>
  );
}

function EditOrgDialog({ org }: { org: Organization }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [name, setName] = useState(org.name);
  const [fee, setFee] = useState(String(org.fee_bps / 100));
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/v1/admin/operator/organizations/{orgId}", {
          params: { path: { orgId: String(org.id) } },
          body: { name, fee_bps: bps(fee) },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: orgsKey }),
  });
  const general =
    save.error && !fieldError(save.error, "name") && !fieldError(save.error, "fee_bps")
      ? errorMessage(save.error, t)
      : null;
  return (
    <ModalDialog
      title={t("orgsEditTitle", { name: org.name })}
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
            label={t("orgsName")}
            value={name}
            onChange={setName}
            isRequired
            error={fieldError(save.error, "name")}
          />
          <TextField
            label={t("orgsFeePercent")}
            value={fee}
            onChange={setFee}
            inputMode="decimal"
            description={t("orgsFeeHelp")}
            error={fieldError(save.error, "fee_bps")}
          />
          {general && <Notice tone="danger">{general}</Notice>}
          <DialogActions onCancel={close} submitLabel={t("save")} isPending={save.isPending} />
        </form>
      )}
    </ModalDialog>
  );
}

function SuspendButton({ org }: { org: Organization }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const suspend = !org.suspended_at;
  const toggle = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/v1/admin/operator/organizations/{orgId}", {
          params: { path: { orgId: String(org.id) } },
          body: { suspended: suspend },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: orgsKey }),
  });
  return (
    <ConfirmButton
      label={suspend ? t("orgsSuspend") : t("orgsResume")}
      title={
        suspend
          ? t("orgsSuspendTitle", { name: org.name })
          : t("orgsResumeTitle", { name: org.name })
      }
      body={suspend ? t("orgsSuspendBody") : t("orgsResumeBody")}
      confirmLabel={suspend ? t("orgsSuspend") : t("orgsResume")}
      variant={suspend ? "danger" : "primary"}
      onConfirm={() => toggle.mutateAsync()}
      isPending={toggle.isPending}
      error={toggle.error}
    />
  );
}
