import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client.ts";
import { TableWrap } from "../../components/data-table.tsx";
import { Address } from "../../components/tx-link.tsx";
import { Badge, Card, QueryState } from "../../components/ui.tsx";
import { useI18n } from "../../i18n/index.tsx";

/**
 * The ledger against the chain (GET /v1/admin/operator/reconciliation, as `stablegate
 * reconcile`): the block each chain was read at, and every account or intent that differs.
 */
export function LedgerCard() {
  const { t } = useI18n();
  const report = useQuery({
    queryKey: ["operator", "reconciliation"],
    queryFn: () => unwrap(api.GET("/v1/admin/operator/reconciliation")),
    refetchInterval: 60_000,
  });
  return (
    <Card title={t("ledgerTitle")}>
      <QueryState query={report}>
        {(r) => {
          const differing = r.accounts.filter((a) => a.compared && a.difference !== "0");
          const compared = r.accounts.filter((a) => a.compared).length;
          return (
            <div className="stack">
              <p>
                {r.ok ? (
                  <Badge tone="success">{t("ledgerReconciled")}</Badge>
                ) : (
                  <Badge tone="danger">
                    {t("ledgerDifferences", { count: String(r.differences) })}
                  </Badge>
                )}{" "}
                {t("ledgerSummary", {
                  accounts: String(compared),
                  intents: String(r.intents.length),
                  blocks: r.chains
                    .map((c) =>
                      c.block === null
                        ? c.chain
                        : t("ledgerAtBlock", { chain: c.chain, block: c.block }),
                    )
                    .join(", "),
                })}
              </p>
              {differing.length > 0 && (
                <TableWrap label={t("ledgerTitle")}>
                  <table className="table">
                    <caption className="visually-hidden">{t("ledgerTitle")}</caption>
                    <thead>
                      <tr>
                        <th scope="col">{t("healthChain")}</th>
                        <th scope="col">{t("healthWalletRole")}</th>
                        <th scope="col">{t("treasuryAddressColumn")}</th>
                        <th scope="col">{t("ledgerAsset")}</th>
                        <th scope="col" className="num">
                          {t("ledgerLedger")}
                        </th>
                        <th scope="col" className="num">
                          {t("ledgerOnChain")}
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {differing.map((a) => (
                        <tr key={`${a.chain}-${a.kind}-${a.address}-${a.asset}`}>
                          <td>{a.chain}</td>
                          <td>{a.kind}</td>
                          <td>
                            <Address value={a.address} />
                          </td>
                          <td className="mono">{a.asset}</td>
                          <td className="num">{a.ledger}</td>
                          <td className="num">{a.onchain ?? "—"}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </TableWrap>
              )}
              {r.intents
                .filter((i) => i.problems.length > 0)
                .map((i) => (
                  <p key={i.payment_intent_id} className="text-danger small">
                    <span className="mono">{i.payment_intent_id}</span>: {i.problems.join("; ")}
                  </p>
                ))}
            </div>
          );
        }}
      </QueryState>
    </Card>
  );
}
