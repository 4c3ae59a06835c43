import {
  type ColumnDef,
  flexRender,
  getCoreRowModel,
  type RowData,
  useReactTable,
} from "@tanstack/react-table";
import type { ReactNode } from "react";
import { useI18n } from "../i18n/index.tsx";
import { Button, EmptyState, ErrorState, Loading } from "./ui.tsx";

declare module "@tanstack/react-table" {
  interface ColumnMeta<TData extends RowData, TValue> {
    /** Right-aligned, tabular figures: amounts and counts line up. */
    numeric?: boolean;
  }
}

export type { ColumnDef };

export interface DataTableProps<T> {
  /** Names the table for screen readers (a caption that is not shown). */
  label: string;
  // biome-ignore lint/suspicious/noExplicitAny: each column has its own value type (TanStack's own pattern).
  columns: ColumnDef<T, any>[];
  data: T[] | undefined;
  isLoading?: boolean;
  error?: unknown;
  onRetry?: () => void;
  /** What an empty table says, and what to do about it. */
  empty: { title: string; body?: ReactNode; action?: ReactNode };
  getRowId?: (row: T) => string;
}

/**
 * A table of rows from the API (TanStack Table for the columns, a plain <table> for the markup):
 * loading, error and empty states included. Sorting and paging are the server's: keep them in
 * the URL's search params and pass the page in.
 *
 * @example
 * const columns: ColumnDef<Key>[] = [
 *   { header: t("keysName"), accessorKey: "name" },
 *   { header: t("keysCap"), accessorKey: "daily_transfer_cap", meta: { numeric: true } },
 * ];
 * <DataTable label={t("navDevelopers")} columns={columns} data={q.data} isLoading={q.isPending}
 *   error={q.error} empty={{ title: t("keysEmpty") }} />
 */
export function DataTable<T>(props: DataTableProps<T>) {
  const table = useReactTable({
    data: props.data ?? [],
    columns: props.columns,
    getCoreRowModel: getCoreRowModel(),
    manualPagination: true,
    manualSorting: true,
    ...(props.getRowId ? { getRowId: props.getRowId } : {}),
  });
  if (props.error) return <ErrorState error={props.error} onRetry={props.onRetry} />;
  if (props.isLoading || props.data === undefined) return <Loading />;
  if (props.data.length === 0) {
    return (
      <EmptyState title={props.empty.title} action={props.empty.action}>
        {props.empty.body}
      </EmptyState>
    );
  }
  return (
    <TableWrap label={props.label}>
      <table className="table">
        <caption className="visually-hidden">{props.label}</caption>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => (
                <th
                  key={header.id}
                  scope="col"
                  className={header.column.columnDef.meta?.numeric ? "num" : undefined}
                >
                  {header.isPlaceholder
                    ? null
                    : flexRender(header.column.columnDef.header, header.getContext())}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => (
            <tr key={row.id}>
              {row.getVisibleCells().map((cell) => (
                <td
                  key={cell.id}
                  className={cell.column.columnDef.meta?.numeric ? "num" : undefined}
                >
                  {flexRender(cell.column.columnDef.cell, cell.getContext())}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** Previous / next for a page of the API (`{ total_count, page_number, page_size }`). */
export function Pagination({
  page,
  onChange,
}: {
  page: { total_count: number; page_number: number; page_size: number } | undefined;
  onChange(pageNumber: number): void;
}) {
  const { t } = useI18n();
  if (!page || page.total_count === 0) return null;
  const pages = Math.max(1, Math.ceil(page.total_count / page.page_size));
  return (
    <nav className="pagination" aria-label={t("pagination")}>
      <span className="muted">
        {t("pageOf", { page: page.page_number, pages })} ·{" "}
        {t("rowsTotal", { count: page.total_count })}
      </span>
      <div className="pagination-buttons">
        <Button
          size="small"
          isDisabled={page.page_number <= 1}
          onPress={() => onChange(page.page_number - 1)}
        >
          {t("previousPage")}
        </Button>
        <Button
          size="small"
          isDisabled={page.page_number >= pages}
          onPress={() => onChange(page.page_number + 1)}
        >
          {t("nextPage")}
        </Button>
      </div>
    </nav>
  );
}

/**
 * The scrolling box around a wide table: a labelled region that takes focus, so a keyboard user
 * can scroll it too (axe: scrollable-region-focusable).
 */
export function TableWrap({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable to scroll by keyboard
    <section className="table-wrap" tabIndex={0} aria-label={label}>
      {children}
    </section>
  );
}
