import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { getRouteApi, Link } from "@tanstack/react-router";
import { ApiError, api, unwrap } from "../../api/client.ts";
import type { components } from "../../api/schema";
import { useOrg } from "../../api/session.ts";
import { type ColumnDef, DataTable } from "../../components/data-table.tsx";
import {
  Button,
  Card,
  DetailList,
  EmptyState,
  errorMessage,
  Notice,
  PageHeader,
  PaymentStatusBadge,
  QueryState,
} from "../../components/ui.tsx";
import { formatAmount, formatDateTime, formatFiat } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";
import { MerchantRefundsCard } from "./merchant-refunds-card.tsx";
import { HashLink, orderIdOf, StateBadge } from "./payment-bits.tsx";

type Detail = components["schemas"]["AdminPaymentDetail"];
type Transfer = Detail["transfers"][number];
type Refund = Detail["refunds"][number];
type Collection = Detail["collections"][number];
type CallbackEvent = Detail["callbacks"][number];
type Attempt = CallbackEvent["attempts"][number];
type GatewayEvent = Detail["events"][number];

const route = getRouteApi("/app/orgs/$orgId/payments/$paymentId");

/** /orgs/<id>/payments/<intent id>: one payment and everything that happened to it. */
export function PaymentDetailPage() {
  const { t } = useI18n();
  const org = useOrg();
  const { paymentId } = route.useParams();
  const detail = useQuery({
    queryKey: ["payment", org.id, paymentId],
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/payments/{id}", {
          params: { path: { orgId: String(org.id), id: paymentId } },
        }),
      ),
    // While something is on its way (a payment, a callback), follow it.
    refetchInterval: (q) => {
      const d = q.state.data;
      if (!d) return false;
      const moving =
        d.intent.status === "pending" || d.callbacks.some((c) => c.state === "pending");
      return moving ? 3_000 : false;
    },
  });
  return (
    <div className="page">
      <p className="breadcrumb">
        <Link to="/orgs/$orgId/payments" params={{ orgId: org.id }}>
          ← {t("detailBack")}
        </Link>
      </p>
      {detail.error instanceof ApiError && detail.error.status === 404 ? (
        // Not this organisation's intent (or none at all): nothing to retry.
        <PageHeader title={t("notFoundTitle")} description={detail.error.message} />
      ) : (
        <QueryState query={detail}>{(d) => <DetailBody detail={d} />}</QueryState>
      )}
    </div>
  );
}

function DetailBody({ detail }: { detail: Detail }) {
  const { t, language } = useI18n();
  const p = detail.intent;
  const orderId = orderIdOf(p.order_data);
  return (
    <>
      <PageHeader
        title={t("detailTitle", { id: p.payment_intent_id })}
        description={
          <span className="badges">
            <PaymentStatusBadge status={p.status} />
            <span>{formatFiat(p.fiat_amount, p.fiat_currency, language)}</span>
            {orderId && <span className="muted">· {orderId}</span>}
          </span>
        }
      />
      {p.reversed_at && (
        <Notice tone="danger">
          {t("detailReversed", {
            date: formatDateTime(p.reversed_at, language),
            reason: p.reversal_reason ?? "",
          })}
        </Notice>
      )}
      <div className="detail-columns">
        <Card title={t("detailSummary")}>
          <DetailList
            items={[
              [t("detailStatus"), <PaymentStatusBadge key="s" status={p.status} />],
              [t("detailFiat"), formatFiat(p.fiat_amount, p.fiat_currency, language)],
              [t("detailCrypto"), `${formatAmount(p.crypto_amount)} ${p.symbol}`],
              [
                t("detailReceived"),
                p.received_amount ? `${formatAmount(p.received_amount)} ${p.symbol}` : "—",
              ],
              [t("detailChain"), p.payment_chain_id],
              [
                t("detailDepositAddress"),
                <code key="a" className="mono">
                  {p.payment_address}
                </code>,
              ],
              [
                t("detailPayer"),
                p.payer_address ? (
                  <code key="p" className="mono">
                    {p.payer_address}
                  </code>
                ) : (
                  "—"
                ),
              ],
              [t("paymentsCreated"), formatDateTime(p.created_at, language)],
              [
                t("detailDeadline"),
                formatDateTime(new Date(p.payment_deadline * 1000).toISOString(), language),
              ],
              [t("detailGroupKey"), p.group_key ?? "—"],
              [t("detailClient"), p.client_id ?? "—"],
              [t("detailCallbackUrl"), p.callback_url ?? "—"],
              [
                t("detailOrderData"),
                p.order_data ? (
                  <pre key="o" className="json">
                    {JSON.stringify(p.order_data, null, 2)}
                  </pre>
                ) : (
                  "—"
                ),
              ],
            ]}
          />
        </Card>
        <Card title={t("detailTimeline")}>
          <ol className="timeline">
            <li>
              <span className="timeline-dot" aria-hidden="true" />
              <div>
                <strong>{t("detailCreated")}</strong>
                <div className="muted">{formatDateTime(p.created_at, language)}</div>
              </div>
            </li>
            {detail.history.map((h) => (
              <li key={`${h.to_status}-${h.at}`}>
                <span className="timeline-dot" aria-hidden="true" />
                <div>
                  <PaymentStatusBadge status={h.to_status} />{" "}
                  <span className="muted">{h.cause}</span>
                  <div className="muted">{formatDateTime(h.at, language)}</div>
                </div>
              </li>
            ))}
          </ol>
        </Card>
      </div>
      <div className="stack section-gap">
        <TransfersCard transfers={detail.transfers} />
        {detail.refunds.length > 0 && <RefundsCard refunds={detail.refunds} />}
        {p.status === "success" && (
          <MerchantRefundsCard paymentId={p.payment_intent_id} symbol={p.symbol} />
        )}
        {detail.collections.length > 0 && <CollectionsCard collections={detail.collections} />}
        <CallbacksCard paymentId={p.payment_intent_id} callbacks={detail.callbacks} />
        {detail.events.length > 0 && <EventsCard events={detail.events} />}
      </div>
    </>
  );
}

function TransfersCard({ transfers }: { transfers: Transfer[] }) {
  const { t, language } = useI18n();
  const columns: ColumnDef<Transfer>[] = [
    { header: t("colTime"), id: "at", cell: (c) => formatDateTime(c.row.original.at, language) },
    {
      header: t("colTx"),
      id: "tx",
      cell: (c) => <HashLink hash={c.row.original.tx_hash} href={c.row.original.explorer_url} />,
    },
    { header: t("colFrom"), id: "from", cell: (c) => <HashLink hash={c.row.original.from} /> },
    {
      header: t("colAmount"),
      id: "amount",
      meta: { numeric: true },
      cell: (c) => formatAmount(c.row.original.amount),
    },
    { header: t("colBlock"), accessorKey: "block_number", meta: { numeric: true } },
    {
      header: t("colState"),
      id: "state",
      cell: (c) => <StateBadge state={c.row.original.state} />,
    },
  ];
  return (
    <Card title={t("detailTransfers")}>
      <DataTable
        label={t("detailTransfers")}
        columns={columns}
        data={transfers}
        empty={{ title: t("detailNoTransfers") }}
      />
    </Card>
  );
}

function RefundsCard({ refunds }: { refunds: Refund[] }) {
  const { t, language } = useI18n();
  const columns: ColumnDef<Refund>[] = [
    { header: t("colTime"), id: "at", cell: (c) => formatDateTime(c.row.original.at, language) },
    { header: t("colKind"), accessorKey: "kind" },
    { header: t("colTo"), id: "to", cell: (c) => <HashLink hash={c.row.original.to} /> },
    {
      header: t("colAmount"),
      id: "amount",
      meta: { numeric: true },
      cell: (c) => formatAmount(c.row.original.amount),
    },
    {
      header: t("colTx"),
      id: "tx",
      cell: (c) => <HashLink hash={c.row.original.tx_hash} href={c.row.original.explorer_url} />,
    },
    {
      header: t("colState"),
      id: "state",
      cell: (c) => <StateBadge state={c.row.original.state} />,
    },
  ];
  return (
    <Card title={t("detailRefunds")}>
      <DataTable
        label={t("detailRefunds")}
        columns={columns}
        data={refunds}
        empty={{ title: "" }}
      />
    </Card>
  );
}

function CollectionsCard({ collections }: { collections: Collection[] }) {
  const { t } = useI18n();
  const columns: ColumnDef<Collection>[] = [
    {
      header: t("colAmount"),
      id: "amount",
      meta: { numeric: true },
      cell: (c) => formatAmount(c.row.original.amount),
    },
    {
      header: t("colFee"),
      id: "fee",
      meta: { numeric: true },
      cell: (c) => formatAmount(c.row.original.fee),
    },
    {
      header: t("colTreasury"),
      id: "treasury",
      cell: (c) => <HashLink hash={c.row.original.treasury_address} />,
    },
    {
      header: t("colTx"),
      id: "tx",
      cell: (c) => <HashLink hash={c.row.original.tx_hash} href={c.row.original.explorer_url} />,
    },
    {
      header: t("colFeeTx"),
      id: "fee_tx",
      cell: (c) => <HashLink hash={c.row.original.fee_tx_hash} />,
    },
    {
      header: t("colState"),
      id: "state",
      cell: (c) => <StateBadge state={c.row.original.state} />,
    },
  ];
  return (
    <Card title={t("detailCollections")}>
      <DataTable
        label={t("detailCollections")}
        columns={columns}
        data={collections}
        empty={{ title: "" }}
      />
    </Card>
  );
}

function CallbacksCard({
  paymentId,
  callbacks,
}: {
  paymentId: string;
  callbacks: CallbackEvent[];
}) {
  const { t, language } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const resend = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/orgs/{orgId}/payments/{id}/callbacks/resend", {
          params: { path: { orgId: String(org.id), id: paymentId } },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ["payment", org.id, paymentId] }),
  });
  const attemptColumns: ColumnDef<Attempt>[] = [
    { header: t("colTime"), id: "at", cell: (c) => formatDateTime(c.row.original.at, language) },
    {
      header: t("colHttp"),
      id: "http",
      meta: { numeric: true },
      cell: (c) => c.row.original.http_status ?? "—",
    },
    {
      header: t("colOutcome"),
      id: "outcome",
      cell: (c) => <StateBadge state={c.row.original.outcome} />,
    },
    {
      header: t("colDuration"),
      id: "duration",
      meta: { numeric: true },
      cell: (c) => t("ms", { ms: c.row.original.duration_ms }),
    },
    {
      header: t("colResponse"),
      id: "response",
      cell: (c) => (
        <span
          className="excerpt"
          title={c.row.original.error ?? c.row.original.response_excerpt ?? ""}
        >
          {c.row.original.error ?? c.row.original.response_excerpt ?? "—"}
        </span>
      ),
    },
  ];
  return (
    <Card
      title={t("detailCallbacks")}
      actions={
        org.can("callbacks:write") && callbacks.length > 0 ? (
          <Button isPending={resend.isPending} onPress={() => resend.mutate()}>
            {t("detailResend")}
          </Button>
        ) : null
      }
    >
      {resend.isSuccess && <Notice tone="success">{t("detailResent")}</Notice>}
      {resend.error ? <Notice tone="danger">{errorMessage(resend.error, t)}</Notice> : null}
      {callbacks.length === 0 ? (
        <EmptyState title={t("detailNoCallbacks")} />
      ) : (
        <div className="stack">
          {callbacks.map((event) => (
            <section key={event.event_id} className="callback-event">
              <div className="callback-event-head">
                <PaymentStatusBadge status={event.status} />
                <StateBadge state={event.state} />
                <code className="mono muted">{event.event_id}</code>
                <span className="muted">{formatDateTime(event.created_at, language)}</span>
              </div>
              <p className="muted callback-url">{event.url}</p>
              <DataTable
                label={`${t("detailCallbacks")} ${event.event_id}`}
                columns={attemptColumns}
                data={event.attempts}
                empty={{ title: t("state_pending") }}
              />
            </section>
          ))}
        </div>
      )}
    </Card>
  );
}

function EventsCard({ events }: { events: GatewayEvent[] }) {
  const { t, language } = useI18n();
  const columns: ColumnDef<GatewayEvent>[] = [
    {
      header: t("colTime"),
      id: "at",
      cell: (c) => formatDateTime(c.row.original.created_at, language),
    },
    { header: t("colType"), accessorKey: "type" },
    {
      header: t("colData"),
      id: "data",
      cell: (c) => <code className="mono excerpt">{JSON.stringify(c.row.original.data)}</code>,
    },
  ];
  return (
    <Card title={t("detailEvents")}>
      <DataTable label={t("detailEvents")} columns={columns} data={events} empty={{ title: "" }} />
    </Card>
  );
}
