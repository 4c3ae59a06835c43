import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../../api/client.ts";
import type { components } from "../../api/schema";
import { useOrg } from "../../api/session.ts";
import { type ColumnDef, DataTable, Pagination } from "../../components/data-table.tsx";
import { Card, PageHeader } from "../../components/ui.tsx";
import { formatDateTime } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";
import { AuditChanges } from "./audit-changes.tsx";

export type AuditEntry = components["schemas"]["StudioAuditEntry"];

/** /studio/orgs/<id>/audit: every change made through Studio, the admin API or the CLI. */
export function AuditPage() {
  const { t, language } = useI18n();
  const org = useOrg();
  const [pageNumber, setPageNumber] = useState(1);
  const log = useQuery({
    queryKey: ["org", org.id, "audit", pageNumber],
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/audit", {
          params: {
            path: { orgId: String(org.id) },
            query: { page_number: pageNumber, page_size: 25 },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const columns: ColumnDef<AuditEntry>[] = [
    {
      header: t("auditWhen"),
      accessorKey: "created_at",
      cell: (c) => formatDateTime(c.row.original.created_at, language),
    },
    { header: t("auditWho"), accessorKey: "actor" },
    {
      header: t("auditWhat"),
      accessorKey: "action",
      cell: (c) => <code className="mono">{c.row.original.action}</code>,
    },
    {
      header: t("auditTarget"),
      accessorKey: "target",
      cell: (c) => <span className="mono">{c.row.original.target ?? "—"}</span>,
    },
    {
      header: t("auditChanges"),
      id: "changes",
      cell: (c) => <AuditChanges before={c.row.original.before} after={c.row.original.after} />,
    },
    {
      header: t("auditFrom"),
      accessorKey: "ip",
      cell: (c) => <span className="mono">{c.row.original.ip ?? "—"}</span>,
    },
  ];
  return (
    <div className="page">
      <PageHeader title={t("navAudit")} description={t("auditLead")} />
      <Card className="audit-log">
        <DataTable
          label={t("navAudit")}
          columns={columns}
          data={log.data?.items}
          isLoading={log.isPending}
          error={log.error}
          onRetry={() => log.refetch()}
          getRowId={(e) => e.id}
          empty={{ title: t("auditEmpty") }}
        />
        <Pagination page={log.data} onChange={setPageNumber} />
      </Card>
    </div>
  );
}
