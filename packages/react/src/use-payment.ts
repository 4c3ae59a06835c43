import { useContext } from "react";
import { PaymentContext, type UsePaymentResult } from "./payment-provider.tsx";

/**
 * The payment flow in one hook: `openPaymentModal` creates a payment intent from the browser and
 * opens the checkout modal; `data`, `txHash`, `isSuccess`, ... follow the payment live. Every
 * component under one {@link PaymentProvider} shares the same payment.
 *
 * @example
 * import { usePayment } from "@stablegate/react";
 *
 * function PaymentComponent() {
 *   const { openPaymentModal, closePaymentModal, data, isLoading, isSuccess, isError, error } =
 *     usePayment();
 *   return (
 *     <button onClick={() => openPaymentModal({ fiat_amount: "100", fiat_currency: "TWD" })}>
 *       Pay Now
 *     </button>
 *   );
 * }
 */
export function usePayment(): UsePaymentResult {
  const value = useContext(PaymentContext);
  if (value === null) {
    throw new Error("usePayment() must be used inside <PaymentProvider clientId=… baseUrl=…>");
  }
  return value;
}
