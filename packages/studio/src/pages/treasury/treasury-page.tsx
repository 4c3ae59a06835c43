import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useState } from "react";
import { api, unwrap } from "../../api/client.ts";
import type { components } from "../../api/schema";
import { useOrg, useSession } from "../../api/session.ts";
import { type ColumnDef, DataTable, Pagination, TableWrap } from "../../components/data-table.tsx";
import { ModalDialog } from "../../components/dialog.tsx";
import { DialogActions } from "../../components/dialog-actions.tsx";
import { Address, TxLink } from "../../components/tx-link.tsx";
import {
  Badge,
  Button,
  Card,
  CopyButton,
  errorMessage,
  fieldError,
  Notice,
  PageHeader,
  QueryState,
  TextField,
  type Tone,
} from "../../components/ui.tsx";
import { formatAmount, formatDateTime } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";

type Treasury = components["schemas"]["Treasury"];
type HotWallet = Treasury["hot_wallets"][number];
type Collection = Treasury["collections"]["items"][number];
type CollectionState = Collection["state"];

const STATE_TONES: Record<CollectionState, Tone> = {
  waiting_treasury: "warning",
  pending: "info",
  submitted: "info",
  confirmed: "success",
  failed: "danger",
};

const treasuryKey = (orgId: number) => ["org", orgId, "treasury"] as const;

/** "1.5%" from 150 basis points. */
function percent(bps: number): string {
  return `${(bps / 100).toLocaleString("en", { maximumFractionDigits: 2 })}%`;
}

/** /studio/orgs/<id>/treasury: where collected payments go, the fee, hot wallets, collections. */
export function TreasuryPage() {
  const { t, language } = useI18n();
  const org = useOrg();
  const [pageNumber, setPageNumber] = useState(1);
  const treasury = useQuery({
    queryKey: [...treasuryKey(org.id), pageNumber],
    queryFn: () =>
      unwrap(
        api.GET("/v1/admin/orgs/{orgId}/treasury", {
          params: {
            path: { orgId: String(org.id) },
            query: { page_number: pageNumber, page_size: 20 },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });

  const columns: ColumnDef<Collection>[] = [
    {
      header: t("treasuryCollected"),
      accessorKey: "created_at",
      cell: (c) => formatDateTime(c.row.original.created_at, language),
    },
    {
      header: t("treasuryPayment"),
      accessorKey: "payment_intent_id",
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
      header: t("treasuryAmount"),
      accessorKey: "amount",
      meta: { numeric: true },
      cell: (c) =>
        c.row.original.amount === null
          ? "—"
          : `${formatAmount(c.row.original.amount)} ${c.row.original.symbol}`,
    },
    {
      header: t("treasuryFee"),
      accessorKey: "fee",
      meta: { numeric: true },
      cell: (c) =>
        c.row.original.fee === null
          ? "—"
          : `${formatAmount(c.row.original.fee)} ${c.row.original.symbol}`,
    },
    {
      header: t("treasuryState"),
      accessorKey: "state",
      cell: (c) => (
        <Badge tone={STATE_TONES[c.row.original.state]}>
          {t(`collectionState_${c.row.original.state}`)}
        </Badge>
      ),
    },
    {
      header: t("treasuryTx"),
      accessorKey: "tx_hash",
      cell: (c) => <TxLink hash={c.row.original.tx_hash} url={c.row.original.explorer_url} />,
    },
  ];

  return (
    <div className="page">
      <PageHeader title={t("navTreasury")} description={t("treasuryLead")} />
      <QueryState query={treasury}>
        {(data) => (
          <div className="stack">
            <div className="grid two">
              <TreasuryAddressCard address={data.treasury_address} />
              <Card title={t("treasuryFeeTitle")}>
                <p className="figure">{percent(data.fee_bps)}</p>
                <p className="muted">{t("treasuryFeeHelp")}</p>
              </Card>
            </div>
            <Card title={t("treasuryHotWallets")}>
              <p className="muted">{t("treasuryHotWalletsHelp")}</p>
              <HotWallets wallets={data.hot_wallets} />
            </Card>
            <Card title={t("treasuryCollections")}>
              <DataTable
                label={t("treasuryCollections")}
                columns={columns}
                data={data.collections.items}
                getRowId={(c) => c.payment_intent_id}
                empty={{
                  title: t("treasuryCollectionsEmpty"),
                  body: t("treasuryCollectionsEmptyBody"),
                }}
              />
              <Pagination page={data.collections} onChange={setPageNumber} />
            </Card>
          </div>
        )}
      </QueryState>
    </div>
  );
}

function HotWallets({ wallets }: { wallets: HotWallet[] }) {
  const { t } = useI18n();
  if (wallets.length === 0) return <p className="muted">{t("none")}</p>;
  return (
    <TableWrap label={t("treasuryHotWallets")}>
      <table className="table">
        <caption className="visually-hidden">{t("treasuryHotWallets")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("treasuryChain")}</th>
            <th scope="col">{t("treasuryAddressColumn")}</th>
            <th scope="col" className="num">
              {t("treasuryTokens")}
            </th>
            <th scope="col" className="num">
              {t("treasuryGas")}
            </th>
          </tr>
        </thead>
        <tbody>
          {wallets.map((w) => (
            <tr key={w.chain_id}>
              <td>{w.chain_id}</td>
              <td>
                <Address value={w.address} />{" "}
                <CopyButton value={w.address} label={t("treasuryCopyAddress")} />
              </td>
              <td className="num">
                {w.error ? (
                  <span className="text-danger">{w.error}</span>
                ) : (
                  w.balances.map((b) => (
                    <div key={b.contract_address}>
                      {formatAmount(b.balance)} {b.symbol}
                    </div>
                  ))
                )}
              </td>
              <td className="num">{formatAmount(w.native_balance)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

function TreasuryAddressCard({ address }: { address: string | null }) {
  const { t } = useI18n();
  const org = useOrg();
  return (
    <Card
      title={t("treasuryAddress")}
      actions={org.can("treasury:write") ? <ChangeAddressDialog /> : null}
    >
      {address ? (
        <p className="address-line">
          <span className="mono">{address}</span>{" "}
          <CopyButton value={address} label={t("treasuryCopyAddress")} />
        </p>
      ) : (
        <Notice tone="warning">{t("treasuryNoAddress")}</Notice>
      )}
      <p className="muted">{t("treasuryAddressHelp")}</p>
    </Card>
  );
}

function ChangeAddressDialog() {
  const { t } = useI18n();
  const org = useOrg();
  const session = useSession();
  const queryClient = useQueryClient();
  const [address, setAddress] = useState("");
  const [code, setCode] = useState("");
  const change = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT("/v1/admin/orgs/{orgId}/treasury/address", {
          params: { path: { orgId: String(org.id) } },
          body: { address, totp_code: code },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: treasuryKey(org.id) }),
  });
  const general =
    change.error && !fieldError(change.error, "address") && !fieldError(change.error, "totp_code")
      ? errorMessage(change.error, t)
      : null;
  return (
    <ModalDialog
      title={t("treasuryChange")}
      trigger={<Button size="small">{t("treasuryChange")}</Button>}
    >
      {(close) =>
        session.user.totp_enabled ? (
          <form
            className="form"
            noValidate
            onSubmit={(e) => {
              e.preventDefault();
              change.mutate(undefined, { onSuccess: close });
            }}
          >
            <p className="muted">{t("treasuryChangeLead")}</p>
            <TextField
              label={t("treasuryNewAddress")}
              value={address}
              onChange={setAddress}
              placeholder="0x…"
              mono
              isRequired
              autoFocus
              error={fieldError(change.error, "address")}
            />
            <TextField
              label={t("totpCode")}
              value={code}
              onChange={setCode}
              inputMode="numeric"
              autoComplete="one-time-code"
              mono
              isRequired
              error={fieldError(change.error, "totp_code")}
            />
            {general && <Notice tone="danger">{general}</Notice>}
            <DialogActions
              onCancel={close}
              submitLabel={t("treasuryChangeSubmit")}
              isPending={change.isPending}
            />
          </form>
        ) : (
          <>
            <Notice tone="warning">
              {t("treasuryTotpFirst")} <Link to="/account">{t("navAccount")}</Link>
            </Notice>
            <div className="dialog-actions">
              <Button variant="ghost" onPress={close}>
                {t("close")}
              </Button>
            </div>
          </>
        )
      }
    </ModalDialog>
  );
}
