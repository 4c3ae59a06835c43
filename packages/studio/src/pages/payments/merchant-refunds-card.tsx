import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../../api/client.ts";
import type { components } from "../../api/schema";
import { useOrg } from "../../api/session.ts";
import { type ColumnDef, DataTable } from "../../components/data-table.tsx";
import { ModalDialog } from "../../components/dialog.tsx";
import { DialogActions, otherError } from "../../components/dialog-actions.tsx";
import { Button, Card, fieldError, Notice, TextField } from "../../components/ui.tsx";
import { formatAmount, formatDateTime } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";
import { HashLink, StateBadge } from "./payment-bits.tsx";

type Refund = components["schemas"]["Refund"];

const refundsKey = (orgId: number, paymentId: string) => ["merchant-refunds", orgId, paymentId];

/**
 * The merchant refunds of a payment (POST …/payment/intent/{id}/refund, or this card's dialog)
 * and, for an owner or admin, the Refund action while something is refundable.
 */
export function MerchantRefundsCard({ paymentId, symbol }: { paymentId: string; symbol: string }) {
  const { t, language } = useI18n();
  const org = useOrg();
  const list = useQuery({
    queryKey: refundsKey(org.id, paymentId),
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/payments/{id}/refunds", {
          params: { path: { orgId: String(org.id), id: paymentId } },
        }),
      ),
    // While one is on its way, follow it.
    refetchInterval: (q) =>
      q.state.data?.items.some((r) => r.status === "pending" || r.status === "sent")
        ? 3_000
        : false,
  });
  const columns: ColumnDef<Refund>[] = [
    {
      header: t("colTime"),
      id: "at",
      cell: (c) =>
        formatDateTime(new Date(c.row.original.created_at * 1000).toISOString(), language),
    },
    { header: t("colTo"), id: "to", cell: (c) => <HashLink hash={c.row.original.to_address} /> },
    {
      header: t("colAmount"),
      id: "amount",
      meta: { numeric: true },
      cell: (c) => formatAmount(c.row.original.amount),
    },
    { header: t("colTx"), id: "tx", cell: (c) => <HashLink hash={c.row.original.tx_hash} /> },
    {
      header: t("colState"),
      id: "state",
      cell: (c) => <StateBadge state={c.row.original.status} />,
    },
  ];
  const refundable = list.data?.refundable_amount ?? "0";
  return (
    <Card
      title={t("detailMerchantRefunds")}
      actions={
        org.can("refunds:write") && refundable !== "0" ? (
          <RefundDialog paymentId={paymentId} symbol={symbol} refundable={refundable} />
        ) : null
      }
    >
      <p className="muted">
        {t("detailRefundable", { amount: `${formatAmount(refundable)} ${symbol}` })}
      </p>
      <DataTable
        label={t("detailMerchantRefunds")}
        columns={columns}
        data={list.data?.items ?? []}
        empty={{ title: t("detailNoMerchantRefunds") }}
      />
    </Card>
  );
}

function RefundDialog(props: { paymentId: string; symbol: string; refundable: string }) {
  const { t } = useI18n();
  return (
    <ModalDialog
      title={t("detailRefundTitle")}
      trigger={<Button variant="secondary">{t("detailRefund")}</Button>}
    >
      {(close) => <RefundForm {...props} onClose={close} />}
    </ModalDialog>
  );
}

function RefundForm({
  paymentId,
  symbol,
  refundable,
  onClose,
}: {
  paymentId: string;
  symbol: string;
  refundable: string;
  onClose(): void;
}) {
  const { t } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const [amount, setAmount] = useState(refundable);
  const [toAddress, setToAddress] = useState("");
  // One key per dialog: pressing "Refund" twice, or again after a dropped answer, refunds once.
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/orgs/{orgId}/payments/{id}/refunds", {
          params: {
            path: { orgId: String(org.id), id: paymentId },
            header: { "idempotency-key": idempotencyKey },
          },
          body: {
            amount,
            ...(toAddress.trim() === "" ? {} : { to_address: toAddress.trim() }),
          },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: refundsKey(org.id, paymentId) }),
  });
  if (create.data) {
    return (
      <>
        <Notice tone="success">
          {t("detailRefundAccepted", {
            amount: `${formatAmount(create.data.amount)} ${symbol}`,
            to: create.data.to_address,
          })}
        </Notice>
        <div className="dialog-actions">
          <Button variant="primary" onPress={onClose}>
            {t("detailRefundDone")}
          </Button>
        </div>
      </>
    );
  }
  const general = otherError(create.error, ["amount", "to_address"], t);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <form onSubmit={submit} className="stack">
      <TextField
        label={t("colAmount")}
        value={amount}
        onChange={setAmount}
        inputMode="decimal"
        description={t("detailRefundAmountHelp", {
          amount: `${formatAmount(refundable)} ${symbol}`,
        })}
        isRequired
        autoFocus
        error={fieldError(create.error, "amount")}
      />
      <TextField
        label={t("detailRefundTo")}
        value={toAddress}
        onChange={setToAddress}
        placeholder="0x…"
        description={t("detailRefundToHelp")}
        mono
        error={fieldError(create.error, "to_address")}
      />
      {general && <Notice tone="danger">{general}</Notice>}
      <DialogActions
        onCancel={onClose}
        submitLabel={t("detailRefund")}
        isPending={create.isPending}
        variant="danger"
      />
    </form>
  );
}
