import { useMutation, useQuery } from "@tanstack/react-query";
import { getRouteApi, Link, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../../api/client.ts";
import type { components } from "../../api/schema";
import { useOrg } from "../../api/session.ts";
import { type ColumnDef, DataTable, Pagination } from "../../components/data-table.tsx";
import {
  Button,
  Card,
  errorMessage,
  fieldError,
  Notice,
  PageHeader,
  PaymentStatusBadge,
  SelectField,
  TextField,
} from "../../components/ui.tsx";
import { formatDateTime } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";
import { StateBadge } from "./payment-bits.tsx";

type Delivery = components["schemas"]["AdminCallbackDelivery"];
type Endpoint = components["schemas"]["AdminFailingEndpoint"];
type State = Delivery["state"];

const STATES: State[] = ["pending", "delivered", "failed"];
const PAGE_SIZE = 25;

export interface CallbacksSearch {
  state?: State;
  page_number?: number;
}

export function validateCallbacksSearch(search: Record<string, unknown>): CallbacksSearch {
  const page = Number(search.page_number);
  return {
    ...(STATES.includes(search.state as State) ? { state: search.state as State } : {}),
    ...(Number.isSafeInteger(page) && page > 1 ? { page_number: page } : {}),
  };
}

const route = getRouteApi("/app/orgs/$orgId/callbacks");

/** /orgs/<id>/callbacks: deliveries, failing endpoints, and a test event. */
export function CallbacksPage() {
  const { t, language } = useI18n();
  const org = useOrg();
  const search = route.useSearch();
  const navigate = useNavigate();
  const orgId = String(org.id);
  const deliveries = useQuery({
    queryKey: ["callbacks", org.id, search],
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/callbacks", {
          params: { path: { orgId }, query: { ...search, page_size: PAGE_SIZE } },
        }),
      ),
    placeholderData: (previous) => previous,
  });
  const endpoints = useQuery({
    queryKey: ["callback-endpoints", org.id],
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/callbacks/endpoints", { params: { path: { orgId } } }),
      ),
  });
  const go = (next: CallbacksSearch) =>
    navigate({ to: "/orgs/$orgId/callbacks", params: { orgId: org.id }, search: next });
  const columns: ColumnDef<Delivery>[] = [
    {
      header: t("paymentsCreated"),
      id: "created",
      cell: (c) => formatDateTime(c.row.original.created_at, language),
    },
    {
      header: t("colPayment"),
      id: "payment",
      cell: (c) => (
        <Link
          to="/orgs/$orgId/payments/$paymentId"
          params={{ orgId: org.id, paymentId: c.row.original.payment_intent_id }}
          className="mono"
          title={c.row.original.payment_intent_id}
        >
          {c.row.original.payment_intent_id.slice(0, 10)}…
        </Link>
      ),
    },
    {
      header: t("colEvent"),
      id: "status",
      cell: (c) => <PaymentStatusBadge status={c.row.original.status} />,
    },
    {
      header: t("colState"),
      id: "state",
      cell: (c) => <StateBadge state={c.row.original.state} />,
    },
    { header: t("colAttempts"), accessorKey: "attempts", meta: { numeric: true } },
    {
      header: t("colLastError"),
      id: "error",
      cell: (c) => <span className="excerpt">{c.row.original.last_error ?? "—"}</span>,
    },
    {
      header: t("colWhen"),
      id: "next",
      cell: (c) =>
        c.row.original.state === "delivered"
          ? formatDateTime(c.row.original.delivered_at, language)
          : formatDateTime(c.row.original.next_attempt_at, language),
    },
  ];
  const endpointColumns: ColumnDef<Endpoint>[] = [
    { header: t("colHost"), accessorKey: "host" },
    {
      header: t("colFailingSince"),
      id: "since",
      cell: (c) => formatDateTime(c.row.original.failing_since, language),
    },
    { header: t("colFailures"), accessorKey: "failures", meta: { numeric: true } },
    {
      header: t("colLastError"),
      id: "error",
      cell: (c) => <span className="excerpt">{c.row.original.last_error ?? "—"}</span>,
    },
  ];
  return (
    <div className="page">
      <PageHeader title={t("navCallbacks")} description={t("callbacksLead")} />
      <div className="stack">
        <Card title={t("callbacksFailing")}>
          <DataTable
            label={t("callbacksFailing")}
            columns={endpointColumns}
            data={endpoints.data}
            isLoading={endpoints.isPending}
            error={endpoints.error}
            onRetry={() => endpoints.refetch()}
            empty={{ title: t("callbacksNoFailing") }}
          />
        </Card>
        <Card
          title={t("callbacksDeliveries")}
          actions={
            <SelectField
              label={t("callbacksState")}
              hideLabel
              className="state-select"
              value={search.state ?? "any"}
              options={[
                { id: "any", label: t("callbacksAnyState") },
                ...STATES.map((s) => ({ id: s, label: t(`state_${s}`) })),
              ]}
              onChange={(s) => go(s === "any" ? {} : { state: s as State })}
            />
          }
        >
          <DataTable
            label={t("callbacksDeliveries")}
            columns={columns}
            data={deliveries.data?.items}
            isLoading={deliveries.isPending}
            error={deliveries.error}
            onRetry={() => deliveries.refetch()}
            getRowId={(d) => d.event_id}
            empty={{ title: t("callbacksEmpty"), body: t("callbacksEmptyBody") }}
          />
          <Pagination
            page={deliveries.data}
            onChange={(pageNumber) => go({ ...search, page_number: pageNumber })}
          />
        </Card>
        {org.can("callbacks:write") && <TestEventCard />}
      </div>
    </div>
  );
}

function TestEventCard() {
  const { t } = useI18n();
  const org = useOrg();
  const [url, setUrl] = useState("");
  const send = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/orgs/{orgId}/callbacks/test", {
          params: { path: { orgId: String(org.id) } },
          body: { url },
        }),
      ),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    send.mutate();
  };
  const result = send.data;
  const delivered =
    result && result.error === null && result.http_status !== null && result.http_status < 300;
  return (
    <Card title={t("callbacksTest")}>
      <p className="muted">{t("callbacksTestLead")}</p>
      <form className="form narrow" onSubmit={submit} noValidate>
        <TextField
          label={t("callbacksTestUrl")}
          type="url"
          value={url}
          onChange={setUrl}
          placeholder="https://shop.example/stablegate/callback"
          error={fieldError(send.error, "url")}
          isRequired
        />
        <div className="form-actions">
          <Button type="submit" variant="primary" isPending={send.isPending}>
            {t("callbacksTestSend")}
          </Button>
        </div>
      </form>
      {send.error && !fieldError(send.error, "url") ? (
        <Notice tone="danger">{errorMessage(send.error, t)}</Notice>
      ) : null}
      {result && (
        <Notice tone={delivered ? "success" : "danger"}>
          {result.error === null
            ? t("callbacksTestResult", {
                status: result.http_status ?? "—",
                ms: result.duration_ms,
              })
            : t("callbacksTestFailed", { error: result.error })}
          {result.response_excerpt && <pre className="json">{result.response_excerpt}</pre>}
        </Notice>
      )}
    </Card>
  );
}
