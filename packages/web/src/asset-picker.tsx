import { useState } from "react";
import { type CheckoutPayment, chooseAsset } from "./api.ts";
import type { Translate } from "./i18n.ts";

type AssetOption = NonNullable<CheckoutPayment["asset_options"]>[number];

const keyOf = (o: { payment_chain_id: string; symbol: string }) =>
  `${o.payment_chain_id}/${o.symbol}`;

/**
 * The payer's choice of chain and token, shown while the gateway offers one (`asset_options`):
 * choosing re-quotes the payment (POST .../asset) and the page shows the new amount and network;
 * the deposit address stays the same.
 */
export function AssetPicker(props: {
  payment: CheckoutPayment;
  onChosen(payment: CheckoutPayment): void;
  t: Translate;
}) {
  const { payment: p, t } = props;
  const [busy, setBusy] = useState<string>();
  const [failed, setFailed] = useState(false);
  const options = p.asset_options;
  if (!options || options.length < 2) return null;
  const current = keyOf(p);

  const choose = async (o: AssetOption) => {
    if (keyOf(o) === current || busy !== undefined) return;
    setBusy(keyOf(o));
    setFailed(false);
    try {
      props.onChosen(await chooseAsset(p.payment_intent_id, o));
    } catch {
      setFailed(true);
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <fieldset className="asset-picker" aria-busy={busy !== undefined}>
      <legend>{t("payWith")}</legend>
      {options.map((o) => {
        const key = keyOf(o);
        return (
          <label key={key} className={key === current ? "asset-option selected" : "asset-option"}>
            <input
              type="radio"
              name="asset"
              value={key}
              checked={key === (busy ?? current)}
              disabled={busy !== undefined}
              onChange={() => void choose(o)}
            />
            <span className="asset-name">
              {t("assetOnChain", { symbol: o.symbol, chain: o.chain_name })}
            </span>
            <span className="asset-amount">
              {o.crypto_amount} {o.symbol}
            </span>
          </label>
        );
      })}
      {failed ? (
        <p className="error" role="alert">
          {t("assetChoiceFailed")}
        </p>
      ) : null}
    </fieldset>
  );
}
