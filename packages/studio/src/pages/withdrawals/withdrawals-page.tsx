import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../../api/client.ts";
import { type CurrentOrg, useOrg, useSession } from "../../api/session.ts";
import { type ColumnDef, DataTable, Pagination } from "../../components/data-table.tsx";
import { ModalDialog } from "../../components/dialog.tsx";
import { DialogActions } from "../../components/dialog-actions.tsx";
import { Address, TxLink } from "../../components/tx-link.tsx";
import {
  Badge,
  Button,
  Card,
  errorMessage,
  fieldError,
  Notice,
  PageHeader,
  SelectField,
  TextField,
  type Tone,
} from "../../components/ui.tsx";
import { formatAmount, formatDateTime } from "../../format.ts";
import { type Translate, useI18n } from "../../i18n/index.tsx";
import { CreateWithdrawalDialog } from "./create-withdrawal-dialog.tsx";
import { type Withdrawal, type WithdrawalStatus, withdrawalsKey } from "./withdrawal-types.ts";

const STATUS_TONES: Record<WithdrawalStatus, Tone> = {
  awaiting_approval: "warning",
  rejected: "neutral",
  submitted: "info",
  confirmed: "success",
  failed: "danger",
};

export function WithdrawalStatusBadge({ status }: { status: WithdrawalStatus }) {
  const { t } = useI18n();
  return <Badge tone={STATUS_TONES[status]}>{t(`withdrawalStatus_${status}`)}</Badge>;
}

type StatusFilter = "all" | WithdrawalStatus;

/** /studio/orgs/<id>/withdrawals: every payout (Studio's and the API's), create, approve. */
export function WithdrawalsPage() {
  const { t, language } = useI18n();
  const org = useOrg();
  const session = useSession();
  const [status, setStatus] = useState<StatusFilter>("all");
  const [pageNumber, setPageNumber] = useState(1);
  const list = useQuery({
    queryKey: [...withdrawalsKey(org.id), status, pageNumber],
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/withdrawals", {
          params: {
            path: { orgId: String(org.id) },
            query: {
              ...(status === "all" ? {} : { status }),
              page_number: pageNumber,
              page_size: 20,
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
    // A sent withdrawal moves to confirmed on its own: follow it while one is in flight.
    refetchInterval: (q) =>
      q.state.data?.items.some((w) => w.status === "submitted") ? 3_000 : false,
  });

  const columns: ColumnDef<Withdrawal>[] = [
    {
      header: t("withdrawalsCreated"),
      accessorKey: "created_at",
      cell: (c) => formatDateTime(c.row.original.created_at, language),
    },
    {
      header: t("withdrawalsAmount"),
      accessorKey: "amount",
      meta: { numeric: true },
      cell: (c) => (
        <div className="people">
          <span className="nowrap">
            {formatAmount(c.row.original.amount)} {c.row.original.token}
          </span>
          <span className="muted">{c.row.original.chain_id}</span>
        </div>
      ),
    },
    {
      header: t("withdrawalsTo"),
      accessorKey: "to_address",
      cell: (c) => <Address value={c.row.original.to_address} />,
    },
    {
      header: t("withdrawalsStatus"),
      accessorKey: "status",
      cell: (c) => <WithdrawalStatusBadge status={c.row.original.status} />,
    },
    {
      header: t("withdrawalsSource"),
      accessorKey: "source",
      cell: (c) =>
        c.row.original.source === "api" ? t("withdrawalsSourceApi") : t("withdrawalsSourceStudio"),
    },
    {
      header: t("withdrawalsPeople"),
      id: "people",
      cell: (c) => <People withdrawal={c.row.original} t={t} />,
    },
    {
      header: t("withdrawalsTx"),
      accessorKey: "tx_hash",
      cell: (c) => <TxLink hash={c.row.original.tx_hash} url={c.row.original.explorer_url} />,
    },
    {
      header: () => <span className="visually-hidden">{t("actions")}</span>,
      id: "actions",
      cell: (c) =>
        c.row.original.status === "awaiting_approval" &&
        org.can("withdrawals:approve") &&
        c.row.original.requested_by !== session.user.email ? (
          <ApprovalButtons withdrawal={c.row.original} org={org} />
        ) : null,
    },
  ];

  const statusOptions: { id: StatusFilter; label: string }[] = [
    { id: "all", label: t("withdrawalsAll") },
    ...(["awaiting_approval", "submitted", "confirmed", "failed", "rejected"] as const).map(
      (s) => ({
        id: s,
        label: t(`withdrawalStatus_${s}`),
      }),
    ),
  ];

  return (
    <div className="page">
      <PageHeader
        title={t("navWithdrawals")}
        description={t("withdrawalsLead")}
        actions={org.can("withdrawals:create") ? <CreateWithdrawalDialog /> : null}
      />
      <Card>
        <div className="toolbar">
          <SelectField
            label={t("withdrawalsStatus")}
            options={statusOptions}
            value={status}
            onChange={(s) => {
              setStatus(s);
              setPageNumber(1);
            }}
          />
        </div>
        <DataTable
          label={t("navWithdrawals")}
          columns={columns}
          data={list.data?.items}
          isLoading={list.isPending}
          error={list.error}
          onRetry={() => list.refetch()}
          getRowId={(w) => `${w.source}-${w.id}`}
          empty={{ title: t("withdrawalsEmpty"), body: t("withdrawalsEmptyBody") }}
        />
        <Pagination page={list.data} onChange={setPageNumber} />
      </Card>
    </div>
  );
}

function People({ withdrawal: w, t }: { withdrawal: Withdrawal; t: Translate }) {
  return (
    <div className="people">
      <span>{w.requested_by ?? "—"}</span>
      {w.approved_by && (
        <span className="muted">{t("withdrawalsApprovedBy", { who: w.approved_by })}</span>
      )}
      {w.rejected_by && (
        <span className="muted">
          {t("withdrawalsRejectedBy", { who: w.rejected_by })}
          {w.reject_reason ? `: ${w.reject_reason}` : ""}
        </span>
      )}
      {w.error && <span className="text-danger">{w.error}</span>}
    </div>
  );
}

/** Approve (with a code when the member has two-factor on) or reject another member's request. */
function ApprovalButtons({ withdrawal: w, org }: { withdrawal: Withdrawal; org: CurrentOrg }) {
  const { t } = useI18n();
  const session = useSession();
  const queryClient = useQueryClient();
  const [code, setCode] = useState("");
  const [reason, setReason] = useState("");
  const done = () => queryClient.invalidateQueries({ queryKey: withdrawalsKey(org.id) });
  const approve = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/orgs/{orgId}/withdrawals/{id}/approve", {
          params: { path: { orgId: String(org.id), id: w.id } },
          body: code === "" ? {} : { totp_code: code },
        }),
      ),
    onSuccess: done,
  });
  const reject = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/orgs/{orgId}/withdrawals/{id}/reject", {
          params: { path: { orgId: String(org.id), id: w.id } },
          body: { reason },
        }),
      ),
    onSuccess: done,
  });
  const summary = t("withdrawalsSummary", {
    amount: formatAmount(w.amount),
    token: w.token,
    to: w.to_address,
    chain: w.chain_id,
  });
  return (
    <div className="row-actions">
      <ModalDialog
        title={t("withdrawalsApproveTitle")}
        trigger={
          <Button size="small" variant="primary">
            {t("withdrawalsApprove")}
          </Button>
        }
      >
        {(close) => (
          <form
            className="form"
            onSubmit={(e) => {
              e.preventDefault();
              approve.mutate(undefined, { onSuccess: close });
            }}
          >
            <p>{summary}</p>
            <p className="muted">{t("withdrawalsRequestedBy", { who: w.requested_by ?? "—" })}</p>
            {session.user.totp_enabled ? (
              <TextField
                label={t("totpCode")}
                value={code}
                onChange={setCode}
                inputMode="numeric"
                autoComplete="one-time-code"
                mono
                error={fieldError(approve.error, "totp_code")}
              />
            ) : (
              <Notice tone="info">{t("withdrawalsNoTotp")}</Notice>
            )}
            {approve.error && !fieldError(approve.error, "totp_code") ? (
              <Notice tone="danger">{errorMessage(approve.error, t)}</Notice>
            ) : null}
            <DialogActions
              onCancel={close}
              submitLabel={t("withdrawalsApproveAndSend")}
              isPending={approve.isPending}
            />
          </form>
        )}
      </ModalDialog>
      <ModalDialog
        title={t("withdrawalsRejectTitle")}
        trigger={<Button size="small">{t("withdrawalsReject")}</Button>}
      >
        {(close) => (
          <form
            className="form"
            onSubmit={(e) => {
              e.preventDefault();
              reject.mutate(undefined, { onSuccess: close });
            }}
          >
            <p>{summary}</p>
            <TextField
              label={t("withdrawalsRejectReason")}
              value={reason}
              onChange={setReason}
              isRequired
              error={fieldError(reject.error, "reason")}
            />
            {reject.error && !fieldError(reject.error, "reason") ? (
              <Notice tone="danger">{errorMessage(reject.error, t)}</Notice>
            ) : null}
            <DialogActions
              onCancel={close}
              submitLabel={t("withdrawalsReject")}
              isPending={reject.isPending}
              variant="danger"
            />
          </form>
        )}
      </ModalDialog>
    </div>
  );
}
