import { type OpenPaymentModalParams, usePayment } from "@stablegate/react";
import { type FormEvent, useState } from "react";
import { AdvancedPaymentComponent, PaymentComponent } from "./payment-components.tsx";

export function Shop() {
  return (
    <main>
      <h1>Stablegate demo shop</h1>
      <p className="lead">
        Pay with the sandbox's test USDT: open a payment, then run{" "}
        <code>npx stablegate dev pay &lt;payment_intent_id&gt;</code> (the id is in the payment
        page's address) or scan the QR code with a wallet on the local chain.
      </p>
      <div className="products">
        <section className="product" aria-labelledby="basic-title">
          <h2 id="basic-title">Sandbox T-shirt</h2>
          <p className="price">100 TWD</p>
          <PaymentComponent />
        </section>
        <section className="product" aria-labelledby="advanced-title">
          <h2 id="advanced-title">Gift box, tracked order</h2>
          <p className="price">100 TWD</p>
          <p className="note">Sends order_data, a callback_url and a group_key.</p>
          <AdvancedPaymentComponent />
        </section>
        <TipJar />
      </div>
      <LastPayment />
    </main>
  );
}

/** Any amount: shows how openPaymentModal refuses one below 0.01 before asking the gateway. */
function TipJar() {
  const { openPaymentModal } = usePayment();
  const [amount, setAmount] = useState("50");
  const [currency, setCurrency] = useState<OpenPaymentModalParams["fiat_currency"]>("TWD");
  const [refusal, setRefusal] = useState<string>();

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setRefusal(undefined);
    try {
      await openPaymentModal({ fiat_amount: amount, fiat_currency: currency, group_key: "tips" });
    } catch (err) {
      setRefusal((err as Error).message);
    }
  };

  return (
    <section className="product" aria-labelledby="tip-title">
      <h2 id="tip-title">Tip jar</h2>
      <form onSubmit={onSubmit}>
        <label>
          Amount{" "}
          <input
            name="amount"
            inputMode="decimal"
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
          />
        </label>{" "}
        <select
          aria-label="Currency"
          value={currency}
          onChange={(e) => setCurrency(e.target.value as typeof currency)}
        >
          <option value="TWD">TWD</option>
          <option value="USD">USD</option>
        </select>{" "}
        <button type="submit">Tip</button>
      </form>
      {refusal ? (
        <p role="alert" className="refusal">
          {refusal}
        </p>
      ) : null}
    </section>
  );
}

/** The hook's state as any component under the provider sees it. */
function LastPayment() {
  const { data, txHash, isSuccess, isError } = usePayment();
  if (!data) return null;
  return (
    <section className="last-payment" aria-labelledby="last-title">
      <h2 id="last-title">Last payment</h2>
      <dl>
        <dt>Payment intent</dt>
        <dd data-testid="intent-id">{data.payment_intent_id}</dd>
        <dt>Amount</dt>
        <dd>
          {data.fiat_amount} {data.fiat_currency} = {data.crypto_amount} {data.symbol}
        </dd>
        <dt>Status</dt>
        <dd data-testid="intent-status" className={isSuccess ? "ok" : isError ? "bad" : ""}>
          {data.status}
        </dd>
        {txHash ? (
          <>
            <dt>Transaction</dt>
            <dd className="hash">{txHash}</dd>
          </>
        ) : null}
      </dl>
    </section>
  );
}
