import { useQuery } from "@tanstack/react-query";
import { getRouteApi, useNavigate } from "@tanstack/react-router";
import { api, unwrap } from "../../api/client.ts";
import type { components } from "../../api/schema";
import { useOrg } from "../../api/session.ts";
import { type ColumnDef, DataTable } from "../../components/data-table.tsx";
import {
  Card,
  EmptyState,
  Notice,
  PageHeader,
  PaymentStatusBadge,
  QueryState,
  SelectField,
} from "../../components/ui.tsx";
import { formatAmount, formatDateTime, shortHex } from "../../format.ts";
import { type MessageKey, useI18n } from "../../i18n/index.tsx";
import { VolumeChart } from "./volume-chart.tsx";

type Overview = components["schemas"]["AdminOverview"];
type Balance = Overview["balances"][number];

const route = getRouteApi("/app/orgs/$orgId/overview");
const PERIODS = [7, 30, 90] as const;

export function validateOverviewSearch(search: Record<string, unknown>): { days?: number } {
  const days = Number(search.days);
  return PERIODS.includes(days as (typeof PERIODS)[number]) ? { days } : {};
}

/** /orgs/<id>/overview: how the organisation is doing, and what needs attention. */
export function OverviewPage() {
  const { t } = useI18n();
  const org = useOrg();
  const days = route.useSearch().days ?? 30;
  const navigate = useNavigate();
  const overview = useQuery({
    queryKey: ["overview", org.id, days],
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/overview", {
          params: { path: { orgId: String(org.id) }, query: { days } },
        }),
      ),
    refetchInterval: 60_000,
  });
  return (
    <div className="page">
      <PageHeader
        title={`${t("navOverview")} · ${org.name}`}
        description={t("overviewLead", { days })}
        actions={
          <SelectField
            label={t("overviewPeriod")}
            hideLabel
            className="period-select"
            value={String(days)}
            options={PERIODS.map((d) => ({ id: String(d), label: t("overviewDays", { days: d }) }))}
            onChange={(d) =>
              navigate({
                to: "/orgs/$orgId/overview",
                params: { orgId: org.id },
                search: { days: Number(d) },
              })
            }
          />
        }
      />
      <QueryState query={overview}>{(o) => <OverviewBody overview={o} days={days} />}</QueryState>
    </div>
  );
}

function OverviewBody({ overview, days }: { overview: Overview; days: number }) {
  const { t, language } = useI18n();
  const rate =
    overview.success_rate === null ? "—" : `${(overview.success_rate * 100).toFixed(1)}%`;
  const statuses = Object.entries(overview.by_status) as [keyof Overview["by_status"], number][];
  const total = statuses.reduce((sum, [, n]) => sum + n, 0);
  const balanceColumns: ColumnDef<Balance>[] = [
    { header: t("overviewChain"), accessorKey: "chain_id" },
    {
      header: t("overviewWallet"),
      accessorKey: "kind",
      cell: (c) => t(`kind_${c.row.original.kind}`),
    },
    {
      header: t("overviewAddress"),
      accessorKey: "address",
      cell: (c) => (
        <code className="mono" title={c.row.original.address}>
          {shortHex(c.row.original.address)}
        </code>
      ),
    },
    {
      header: t("overviewAmount"),
      id: "amount",
      meta: { numeric: true },
      cell: (c) =>
        c.row.original.amount === null ? (
          <span className="muted">{t("overviewUnknown")}</span>
        ) : (
          `${formatAmount(c.row.original.amount)} ${c.row.original.symbol}`
        ),
    },
  ];
  return (
    <div className="stack">
      {overview.alerts.length > 0 && (
        <Card title={t("overviewAlerts")}>
          {overview.alerts.map((alert) => (
            <Notice
              key={`${alert.kind}-${alert.since}-${alert.message}`}
              tone={alert.kind === "payment_reversed" ? "danger" : "warning"}
            >
              <strong>{t(`alert_${alert.kind}` as MessageKey)}</strong> · {alert.message}{" "}
              <span className="muted">
                {t("overviewSince", { date: formatDateTime(alert.since, language) })}
              </span>
              {alert.link && (
                <>
                  {" "}
                  <a href={alert.link}>{t("overviewOpen")}</a>
                </>
              )}
            </Notice>
          ))}
        </Card>
      )}
      <div className="grid stats">
        <Stat label={t("overviewSuccessRate")} value={rate} help={t("overviewSuccessRateHelp")} />
        <Stat label={t("overviewOpenIntents")} value={String(overview.open_intents)} />
        <Stat label={t("overviewPendingRefunds")} value={String(overview.pending_refunds)} />
        <Stat
          label={t("overviewPendingCollections")}
          value={String(overview.pending_collections)}
        />
      </div>
      <div className="overview-columns">
        <Card title={t("overviewVolume")}>
          {overview.volume_per_day.length === 0 ? (
            <EmptyState title={t("overviewVolumeEmpty")} />
          ) : (
            <VolumeChart volume={overview.volume_per_day} days={days} />
          )}
        </Card>
        <Card title={t("overviewByStatus")}>
          <ul className="status-bars">
            {statuses.map(([status, count]) => (
              <li key={status}>
                <PaymentStatusBadge status={status} />
                <span className="status-bar" aria-hidden="true">
                  <span style={{ width: `${total === 0 ? 0 : (count / total) * 100}%` }} />
                </span>
                <span className="num">{count}</span>
              </li>
            ))}
          </ul>
        </Card>
      </div>
      {overview.alerts.length === 0 && <Notice tone="success">{t("overviewNoAlerts")}</Notice>}
      <Card title={t("overviewBalances")}>
        <DataTable
          label={t("overviewBalances")}
          columns={balanceColumns}
          data={overview.balances}
          empty={{ title: t("overviewNoBalances") }}
        />
      </Card>
    </div>
  );
}

function Stat({ label, value, help }: { label: string; value: string; help?: string }) {
  return (
    <section className="card stat">
      <h2 className="stat-label">{label}</h2>
      <p className="stat-value num">{value}</p>
      {help && <p className="stat-help muted">{help}</p>}
    </section>
  );
}
