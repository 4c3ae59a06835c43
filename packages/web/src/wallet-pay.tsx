import { useState } from "react";
import type { CheckoutPayment } from "./api.ts";
import type { Translate } from "./i18n.ts";
// Types only: viem is loaded when the payer presses the button, not with the page.
import type { WalletPaymentError, WalletStep } from "./wallet.ts";

type State =
  | { kind: "idle" }
  | { kind: "busy"; step: WalletStep }
  | { kind: "sent"; hash: string }
  | { kind: "failed"; error: WalletFailure; native: string };

type WalletFailure = Pick<WalletPaymentError, "kind" | "message" | "balance">;

function hasInjectedWallet(): boolean {
  return typeof window !== "undefined" && window.ethereum !== undefined;
}

export function WalletPay({ payment: p, t }: { payment: CheckoutPayment; t: Translate }) {
  const [state, setState] = useState<State>({ kind: "idle" });
  // Read on render, not once: some wallets inject window.ethereum after the page has loaded.
  if (!hasInjectedWallet() || p.evm_chain_id === null) {
    return <p className="hint">{t("noWallet")}</p>;
  }
  const evmChainId = p.evm_chain_id;
  const values = { chain: p.chain_name, symbol: p.symbol, amount: p.crypto_amount };

  const pay = async () => {
    setState({ kind: "busy", step: "connecting" });
    let wallet: typeof import("./wallet.ts") | undefined;
    try {
      wallet = await import("./wallet.ts");
      const hash = await wallet.payWithInjectedWallet({
        evmChainId,
        chainName: p.chain_name,
        tokenAddress: p.token_address,
        symbol: p.symbol,
        decimals: p.decimals,
        to: p.payment_address,
        amountBaseUnits: BigInt(p.crypto_amount_base),
        onStep: (step) => setState({ kind: "busy", step }),
      });
      setState({ kind: "sent", hash });
    } catch (error) {
      setState({
        kind: "failed",
        // No wallet module means the page could not load it (offline): say so in its words.
        error: wallet
          ? wallet.classifyWalletError(error)
          : { kind: "other", message: String(error), balance: undefined },
        native: wallet?.nativeCurrencySymbol(evmChainId) ?? "ETH",
      });
    }
  };

  const progress =
    state.kind === "busy"
      ? t(stepMessage[state.step], values)
      : state.kind === "sent"
        ? t("walletSent")
        : "";
  return (
    <div className="wallet">
      <button
        type="button"
        className="primary"
        onClick={pay}
        disabled={state.kind === "busy" || state.kind === "sent"}
      >
        {t("payWithWallet")}
      </button>
      <p className="progress" role="status">
        {progress}
      </p>
      {state.kind === "sent" ? <code className="mono tx-hash">{state.hash}</code> : null}
      {state.kind === "failed" ? (
        <p className="error" role="alert">
          {errorMessage(state.error, t, { ...values, native: state.native })}
        </p>
      ) : null}
    </div>
  );
}

const stepMessage = {
  connecting: "walletConnecting",
  switching: "walletSwitching",
  checking: "walletChecking",
  confirm: "walletConfirm",
} as const;

function errorMessage(error: WalletFailure, t: Translate, values: Record<string, string>): string {
  switch (error.kind) {
    case "rejected":
      return t("errRejected");
    case "busy":
      return t("errBusy");
    case "noAccount":
      return t("errNoAccount");
    case "noWallet":
      return t("errNoWallet");
    case "wrongChain":
      return t("errWrongChain", values);
    case "unknownChain":
      return t("errUnknownChain", values);
    case "insufficientToken":
      return error.balance === undefined
        ? t("errInsufficientTokenPlain", values)
        : t("errInsufficientToken", { ...values, balance: error.balance });
    case "insufficientGas":
      return t("errInsufficientGas", values);
    default:
      return t("errOther", { message: error.message });
  }
}
