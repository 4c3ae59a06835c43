import type { CheckoutPayment } from "./api.ts";
import type { Translate } from "./i18n.ts";

/** Every confirmed transfer of the payment, oldest first: a payment in parts shows each part. */
export function TransferList(props: { payment: CheckoutPayment; t: Translate; language: string }) {
  const { payment: p, t } = props;
  if (p.transfers.length === 0) return null;
  const time = new Intl.DateTimeFormat(props.language, {
    dateStyle: "medium",
    timeStyle: "medium",
  });
  return (
    <section className="transfers" aria-labelledby="transfers-title">
      <h2 id="transfers-title">{t("transactions")}</h2>
      <ol>
        {p.transfers.map((transfer) => (
          <li
            key={`${transfer.tx_hash}:${transfer.log_index}`}
            className={transfer.late ? "transfer late-transfer" : "transfer"}
          >
            <div className="transfer-head">
              <strong>
                {transfer.amount} {p.symbol}
              </strong>
              <time dateTime={new Date(transfer.block_time * 1000).toISOString()}>
                {time.format(new Date(transfer.block_time * 1000))}
              </time>
            </div>
            {transfer.late ? <span className="badge">{t("transferLate")}</span> : null}
            <TxHash hash={transfer.tx_hash} explorer={p.explorer_url} t={t} />
          </li>
        ))}
      </ol>
    </section>
  );
}

function TxHash(props: { hash: string; explorer: string | null; t: Translate }) {
  return (
    <>
      <code className="mono tx-hash">{props.hash}</code>
      {props.explorer ? (
        <a href={`${props.explorer}/tx/${props.hash}`} target="_blank" rel="noopener noreferrer">
          {props.t("viewOnExplorer")}
        </a>
      ) : null}
    </>
  );
}

export function TxLine(props: {
  label: string;
  hash: string;
  explorer: string | null;
  t: Translate;
}) {
  return (
    <div className="tx">
      <span className="field-label">{props.label}</span>
      <TxHash hash={props.hash} explorer={props.explorer} t={props.t} />
    </div>
  );
}
