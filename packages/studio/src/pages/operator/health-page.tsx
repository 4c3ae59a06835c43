import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client.ts";
import { TableWrap } from "../../components/data-table.tsx";
import { Address } from "../../components/tx-link.tsx";
import { Badge, Card, DetailList, PageHeader, QueryState } from "../../components/ui.tsx";
import { formatAmount, formatDateTime } from "../../format.ts";
import { useI18n } from "../../i18n/index.tsx";
import { LedgerCard } from "./ledger-card.tsx";

/** /studio/operator/health: chains, callback queue, transactions, the gas and fee wallets. */
export function HealthPage() {
  const { t, language } = useI18n();
  const health = useQuery({
    queryKey: ["operator", "health"],
    queryFn: () => unwrap(api.GET("/v1/admin/operator/health")),
    refetchInterval: 10_000,
  });
  return (
    <div className="page">
      <PageHeader title={t("navHealth")} description={t("healthLead")} />
      <QueryState query={health}>
        {(h) => (
          <div className="stack">
            <div className="grid">
              <Card title={t("healthCallbacks")}>
                <DetailList
                  items={[
                    [
                      t("healthDue"),
                      <span key="due" className="num">
                        {h.callbacks.due}
                      </span>,
                    ],
                    [t("healthOldestDue"), formatDateTime(h.callbacks.oldest_due_at, language)],
                    [
                      t("healthFailingEndpoints"),
                      h.callbacks.failing_endpoints > 0 ? (
                        <Badge key="failing" tone="danger">
                          {h.callbacks.failing_endpoints}
                        </Badge>
                      ) : (
                        "0"
                      ),
                    ],
                  ]}
                />
              </Card>
              <Card title={t("healthTransactions")}>
                <DetailList
                  items={[
                    [
                      t("healthPending"),
                      <span key="pending" className="num">
                        {h.transactions.pending}
                      </span>,
                    ],
                    [
                      t("healthStuck"),
                      h.transactions.stuck > 0 ? (
                        <Badge key="stuck" tone="danger">
                          {h.transactions.stuck}
                        </Badge>
                      ) : (
                        "0"
                      ),
                    ],
                  ]}
                />
              </Card>
            </div>
            <Card title={t("healthChains")}>
              <TableWrap label={t("healthChains")}>
                <table className="table">
                  <caption className="visually-hidden">{t("healthChains")}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t("healthChain")}</th>
                      <th scope="col">{t("healthState")}</th>
                      <th scope="col" className="num">
                        {t("healthHead")}
                      </th>
                      <th scope="col" className="num">
                        {t("healthProcessed")}
                      </th>
                      <th scope="col" className="num">
                        {t("healthLag")}
                      </th>
                      <th scope="col">{t("healthRpc")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {h.chains.map((c) => (
                      <tr key={c.chain_id}>
                        <td>{c.chain_id}</td>
                        <td>
                          {c.ready ? (
                            <Badge tone="success">{t("healthReady")}</Badge>
                          ) : (
                            <Badge tone="danger">{t("healthNotReady")}</Badge>
                          )}
                          {(c.message ?? c.problem) && (
                            <div className="text-danger small">{c.message ?? c.problem}</div>
                          )}
                        </td>
                        <td className="num">{c.head ?? "—"}</td>
                        <td className="num">{c.processed ?? "—"}</td>
                        <td className="num">{c.lag ?? "—"}</td>
                        <td>
                          <ul className="plain-list">
                            {c.rpc_urls.map((r) => (
                              <li key={r.host}>
                                <span className="mono">{r.host}</span>{" "}
                                {r.up ? (
                                  <Badge tone="success">{t("healthUp")}</Badge>
                                ) : (
                                  <Badge tone="danger">{t("healthDown")}</Badge>
                                )}
                              </li>
                            ))}
                          </ul>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            </Card>
            <LedgerCard />
            <Card title={t("healthWallets")}>
              <TableWrap label={t("healthWallets")}>
                <table className="table">
                  <caption className="visually-hidden">{t("healthWallets")}</caption>
                  <thead>
                    <tr>
                      <th scope="col">{t("healthChain")}</th>
                      <th scope="col">{t("healthWalletRole")}</th>
                      <th scope="col">{t("treasuryAddressColumn")}</th>
                      <th scope="col" className="num">
                        {t("healthBalance")}
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {h.wallets.map((w) => (
                      <tr key={`${w.chain_id}-${w.role}`}>
                        <td>{w.chain_id}</td>
                        <td>{w.role === "gas" ? t("healthGasWallet") : t("healthFeeWallet")}</td>
                        <td>
                          <Address value={w.address} />
                        </td>
                        <td className="num">
                          {formatAmount(w.native_balance)}{" "}
                          {w.low && <Badge tone="warning">{t("healthLow")}</Badge>}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            </Card>
          </div>
        )}
      </QueryState>
    </div>
  );
}
