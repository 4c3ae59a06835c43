import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../../api/client.ts";
import type { components } from "../../api/schema";
import { useOrg } from "../../api/session.ts";
import { Checkbox } from "../../components/checkbox.tsx";
import { type ColumnDef, DataTable, Pagination } from "../../components/data-table.tsx";
import { ConfirmButton, ModalDialog } from "../../components/dialog.tsx";
import { DialogActions, otherError } from "../../components/dialog-actions.tsx";
import {
  Badge,
  Button,
  Card,
  CopyButton,
  fieldError,
  Notice,
  PageHeader,
  SelectField,
  TextField,
} from "../../components/ui.tsx";
import { formatDateTime, formatFiat } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";

type PaymentLink = components["schemas"]["AdminPaymentLink"];

// The currencies the quote knows (payments/quote.ts, through the OpenAPI document's enum).
const CURRENCIES = [
  "TWD",
  "USD",
  "EUR",
  "JPY",
  "HKD",
  "SGD",
  "KRW",
  "GBP",
  "AUD",
  "CAD",
  "CHF",
  "CNY",
  "THB",
  "MYR",
  "PHP",
  "IDR",
  "INR",
  "VND",
] as const satisfies readonly components["schemas"]["FiatCurrency"][];
const linksKey = (orgId: number) => ["org", orgId, "payment-links"] as const;

/** /studio/orgs/<id>/links: links a merchant sends to get paid with no code at all. */
export function PaymentLinksPage() {
  const { t, language } = useI18n();
  const org = useOrg();
  const [pageNumber, setPageNumber] = useState(1);
  const links = useQuery({
    queryKey: [...linksKey(org.id), pageNumber],
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/payment-links", {
          params: {
            path: { orgId: String(org.id) },
            query: { page_number: pageNumber, page_size: 20 },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const columns: ColumnDef<PaymentLink>[] = [
    {
      header: t("linksDescription"),
      accessorKey: "description",
      cell: (c) => (
        <div className="people">
          <span>
            {c.row.original.description || <span className="muted">{t("linksNoDescription")}</span>}
          </span>
          <span className="mono muted" title={c.row.original.url}>
            {new URL(c.row.original.url).pathname}
          </span>
        </div>
      ),
    },
    {
      header: t("linksAmount"),
      accessorKey: "fiat_amount",
      meta: { numeric: true },
      cell: (c) => formatFiat(c.row.original.fiat_amount, c.row.original.fiat_currency, language),
    },
    {
      header: t("linksKind"),
      accessorKey: "reusable",
      cell: (c) => (c.row.original.reusable ? t("linksReusable") : t("linksOneTime")),
    },
    {
      header: t("linksUses"),
      accessorKey: "uses",
      meta: { numeric: true },
      cell: (c) => (
        <>
          {c.row.original.uses}
          {c.row.original.intent_id && (
            <>
              {" · "}
              <Link
                to="/orgs/$orgId/payments/$paymentId"
                params={{ orgId: org.id, paymentId: c.row.original.intent_id }}
              >
                {t("linksLatestPayment")}
              </Link>
            </>
          )}
        </>
      ),
    },
    {
      header: t("linksState"),
      accessorKey: "active",
      cell: (c) =>
        c.row.original.active ? (
          <Badge tone="success">{t("linksActive")}</Badge>
        ) : (
          <Badge tone="neutral">{t("linksInactive")}</Badge>
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
          {c.row.original.active && (
            <CopyButton
              value={c.row.original.url}
              label={t("linksCopyLabel", { url: c.row.original.url })}
            />
          )}
          {org.can("links:write") && c.row.original.active && <Deactivate link={c.row.original} />}
        </div>
      ),
    },
  ];
  return (
    <div className="page">
      <PageHeader
        title={t("navLinks")}
        description={t("linksLead")}
        actions={org.can("links:write") ? <CreateLinkDialog /> : null}
      />
      <Card>
        <DataTable
          label={t("navLinks")}
          columns={columns}
          data={links.data?.items}
          isLoading={links.isPending}
          error={links.error}
          onRetry={() => links.refetch()}
          getRowId={(l) => l.id}
          empty={{ title: t("linksEmpty"), body: t("linksEmptyBody") }}
        />
        <Pagination page={links.data} onChange={setPageNumber} />
      </Card>
    </div>
  );
}

function Deactivate({ link }: { link: PaymentLink }) {
  const { t } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const off = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/v1/admin/orgs/{orgId}/payment-links/{linkId}", {
          params: { path: { orgId: String(org.id), linkId: link.id } },
          body: { active: false },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: linksKey(org.id) }),
  });
  return (
    <ConfirmButton
      label={t("linksDeactivate")}
      title={t("linksDeactivateTitle")}
      body={t("linksDeactivateBody")}
      confirmLabel={t("linksDeactivate")}
      onConfirm={() => off.mutateAsync()}
      isPending={off.isPending}
      error={off.error}
    />
  );
}

function CreateLinkDialog() {
  const { t } = useI18n();
  const org = useOrg();
  const queryClient = useQueryClient();
  const [amount, setAmount] = useState("");
  const [currency, setCurrency] = useState<(typeof CURRENCIES)[number]>("TWD");
  const [description, setDescription] = useState("");
  const [reusable, setReusable] = useState(true);
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/admin/orgs/{orgId}/payment-links", {
          params: { path: { orgId: String(org.id) } },
          body: { fiat_amount: amount, fiat_currency: currency, description, reusable },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: linksKey(org.id) }),
  });
  const reset = () => {
    create.reset();
    setAmount("");
    setDescription("");
    setReusable(true);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  const fields = ["fiat_amount", "fiat_currency", "description"];
  const general = otherError(create.error, fields, t);
  return (
    <ModalDialog
      title={t("linksCreate")}
      trigger={
        <Button variant="primary" onPress={reset}>
          {t("linksCreate")}
        </Button>
      }
    >
      {(close) =>
        create.data ? (
          <>
            <Notice tone="success">{t("linksCreated")}</Notice>
            <p className="field-label" id="new-link-label">
              {t("linksUrl")}
            </p>
            <div className="secret-value">
              <a
                className="mono"
                href={create.data.url}
                target="_blank"
                rel="noreferrer"
                aria-labelledby="new-link-label"
              >
                {create.data.url}
              </a>
              <CopyButton
                value={create.data.url}
                label={t("linksCopyLabel", { url: create.data.url })}
              />
            </div>
            <div className="dialog-actions">
              <Button variant="primary" onPress={close}>
                {t("close")}
              </Button>
            </div>
          </>
        ) : (
          <form className="form" onSubmit={submit} noValidate>
            <div className="form-row">
              <TextField
                label={t("linksAmount")}
                value={amount}
                onChange={setAmount}
                inputMode="decimal"
                placeholder="300"
                isRequired
                autoFocus
                error={fieldError(create.error, "fiat_amount")}
              />
              <SelectField<(typeof CURRENCIES)[number]>
                label={t("linksCurrency")}
                value={currency}
                options={CURRENCIES.map((c) => ({ id: c, label: c }))}
                onChange={setCurrency}
              />
            </div>
            <TextField
              label={t("linksDescription")}
              value={description}
              onChange={setDescription}
              description={t("linksDescriptionHelp")}
              error={fieldError(create.error, "description")}
            />
            <Checkbox isSelected={reusable} onChange={setReusable}>
              {t("linksReusableLabel")}
            </Checkbox>
            <p className="field-help">
              {reusable ? t("linksReusableHelp") : t("linksOneTimeHelp")}
            </p>
            {general && <Notice tone="danger">{general}</Notice>}
            <DialogActions
              onCancel={close}
              submitLabel={t("linksCreate")}
              isPending={create.isPending}
            />
          </form>
        )
      }
    </ModalDialog>
  );
}
