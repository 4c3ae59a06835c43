import { useQuery } from "@tanstack/react-query";
import { getRouteApi, Link, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../../api/client.ts";
import type { components, paths } from "../../api/schema";
import { useOrg } from "../../api/session.ts";
import { type ColumnDef, DataTable, Pagination } from "../../components/data-table.tsx";
import {
  Badge,
  Button,
  Card,
  PageHeader,
  PaymentStatusBadge,
  SelectField,
  TextField,
} from "../../components/ui.tsx";
import { formatAmount, formatDateTime, formatFiat } from "../../format.ts";
import { type MessageKey, useI18n } from "../../i18n/index.tsx";
import { ExportCard } from "./export-card.tsx";
import { orderIdOf } from "./payment-bits.tsx";

type Payment = components["schemas"]["AdminPayment"];
type Query = NonNullable<paths["/v1/admin/orgs/{orgId}/payments"]["get"]["parameters"]["query"]>;
type Status = NonNullable<Query["status"]>[number];
type Sort = NonNullable<Query["sort"]>;

const STATUSES: Status[] = [
  "pending",
  "success",
  "expired",
  "insufficient_not_refunded",
  "insufficient_refunded",
];
const SORTS: { id: Sort; label: MessageKey }[] = [
  { id: "-created_at", label: "sort_newest" },
  { id: "created_at", label: "sort_oldest" },
  { id: "-fiat_amount", label: "sort_amount_desc" },
  { id: "fiat_amount", label: "sort_amount_asc" },
];
const TEXT_FILTERS = ["order_id", "group_key", "client_id", "address", "tx_hash"] as const;
const PAGE_SIZE = 25;

/** The list's state, all in the URL: a filtered page can be bookmarked and shared. */
export interface PaymentsSearch {
  page_number?: number;
  status?: Status;
  from?: string;
  to?: string;
  order_id?: string;
  group_key?: string;
  client_id?: string;
  address?: string;
  tx_hash?: string;
  sort?: Sort;
}

export function validatePaymentsSearch(search: Record<string, unknown>): PaymentsSearch {
  const out: PaymentsSearch = {};
  const page = Number(search.page_number);
  if (Number.isSafeInteger(page) && page > 1) out.page_number = page;
  if (STATUSES.includes(search.status as Status)) out.status = search.status as Status;
  if (SORTS.some((s) => s.id === search.sort)) out.sort = search.sort as Sort;
  for (const key of ["from", "to", ...TEXT_FILTERS] as const) {
    const v = search[key];
    if (typeof v === "string" && v.trim() !== "") out[key] = v.trim();
    // A number-looking value (order id 12) comes back from the URL as a number.
    if (typeof v === "number") out[key] = String(v);
  }
  return out;
}

const route = getRouteApi("/app/orgs/$orgId/payments");

/** /orgs/<id>/payments: search, sort and page through the payment intents, and export them. */
export function PaymentsPage() {
  const { t, language } = useI18n();
  const org = useOrg();
  const search = route.useSearch();
  const navigate = useNavigate();
  const go = (next: PaymentsSearch) =>
    navigate({ to: "/orgs/$orgId/payments", params: { orgId: org.id }, search: next });
  const payments = useQuery({
    queryKey: ["payments", org.id, search],
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/payments", {
          params: {
            path: { orgId: String(org.id) },
            query: {
              ...search,
              status: search.status ? [search.status] : undefined,
              page_size: PAGE_SIZE,
            },
          },
        }),
      ),
    placeholderData: (previous) => previous,
  });
  const filtered = Object.keys(search).some((k) => k !== "page_number" && k !== "sort");
  const columns: ColumnDef<Payment>[] = [
    {
      header: t("paymentsCreated"),
      id: "created_at",
      cell: (c) => formatDateTime(c.row.original.created_at, language),
    },
    {
      header: t("paymentsId"),
      id: "id",
      cell: (c) => (
        <Link
          to="/orgs/$orgId/payments/$paymentId"
          params={{ orgId: org.id, paymentId: c.row.original.payment_intent_id }}
          className="mono"
        >
          {c.row.original.payment_intent_id}
        </Link>
      ),
    },
    {
      header: t("paymentsStatus"),
      id: "status",
      cell: (c) => (
        <span className="badges">
          <PaymentStatusBadge status={c.row.original.status} />
          {c.row.original.reversed_at && <Badge tone="danger">{t("paymentsReversed")}</Badge>}
        </span>
      ),
    },
    {
      header: t("paymentsFiat"),
      id: "fiat",
      meta: { numeric: true },
      cell: (c) => formatFiat(c.row.original.fiat_amount, c.row.original.fiat_currency, language),
    },
    {
      header: t("paymentsCrypto"),
      id: "crypto",
      meta: { numeric: true },
      cell: (c) => `${formatAmount(c.row.original.crypto_amount)} ${c.row.original.symbol}`,
    },
    {
      header: t("paymentsOrder"),
      id: "order",
      cell: (c) => orderIdOf(c.row.original.order_data) ?? <span className="muted">—</span>,
    },
    { header: t("detailChain"), accessorKey: "payment_chain_id" },
  ];
  const page = payments.data;
  return (
    <div className="page">
      <PageHeader title={t("navPayments")} description={t("paymentsLead")} />
      <div className="stack">
        <FilterBar key={JSON.stringify(search)} search={search} onApply={go} />
        <div aria-busy={payments.isFetching}>
          <DataTable
            label={t("navPayments")}
            columns={columns}
            data={page?.items}
            isLoading={payments.isPending}
            error={payments.error}
            onRetry={() => payments.refetch()}
            getRowId={(p) => p.payment_intent_id}
            empty={
              filtered
                ? {
                    title: t("paymentsEmpty"),
                    body: t("paymentsEmptyBody"),
                    action: <Button onPress={() => go({})}>{t("paymentsClear")}</Button>,
                  }
                : { title: t("paymentsNone"), body: t("paymentsNoneBody") }
            }
          />
          <Pagination
            page={page}
            onChange={(pageNumber) => go({ ...search, page_number: pageNumber })}
          />
        </div>
        <ExportCard />
      </div>
    </div>
  );
}

function FilterBar({
  search,
  onApply,
}: {
  search: PaymentsSearch;
  onApply(next: PaymentsSearch): void;
}) {
  const { t } = useI18n();
  const [draft, setDraft] = useState<PaymentsSearch>(search);
  const set = (key: keyof PaymentsSearch) => (value: string) =>
    setDraft((d) => ({ ...d, [key]: value }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    // A new search starts at its first page.
    onApply(validatePaymentsSearch({ ...draft, page_number: undefined }));
  };
  const labels: Record<(typeof TEXT_FILTERS)[number], MessageKey> = {
    order_id: "paymentsOrderId",
    group_key: "paymentsGroupKey",
    client_id: "paymentsClientId",
    address: "paymentsAddress",
    tx_hash: "paymentsTxHash",
  };
  return (
    <Card>
      <form className="filter-bar" onSubmit={submit} aria-label={t("paymentsFilters")}>
        <SelectField
          label={t("paymentsStatus")}
          value={draft.status ?? "any"}
          options={[
            { id: "any", label: t("paymentsAnyStatus") },
            ...STATUSES.map((s) => ({ id: s, label: t(`status_${s}`) })),
          ]}
          onChange={(s) =>
            setDraft((d) => ({ ...d, status: s === "any" ? undefined : (s as Status) }))
          }
        />
        <TextField
          label={t("paymentsFrom")}
          type="date"
          value={draft.from ?? ""}
          onChange={set("from")}
        />
        <TextField
          label={t("paymentsTo")}
          type="date"
          value={draft.to ?? ""}
          onChange={set("to")}
        />
        {TEXT_FILTERS.map((key) => (
          <TextField
            key={key}
            label={t(labels[key])}
            value={draft[key] ?? ""}
            onChange={set(key)}
            mono={key === "address" || key === "tx_hash"}
          />
        ))}
        <SelectField
          label={t("paymentsSort")}
          value={draft.sort ?? "-created_at"}
          options={SORTS.map((s) => ({ id: s.id, label: t(s.label) }))}
          onChange={(s) => setDraft((d) => ({ ...d, sort: s as Sort }))}
        />
        <div className="filter-actions">
          <Button type="submit" variant="primary">
            {t("paymentsApply")}
          </Button>
          <Button variant="ghost" onPress={() => onApply({})}>
            {t("paymentsClear")}
          </Button>
        </div>
      </form>
    </Card>
  );
}
