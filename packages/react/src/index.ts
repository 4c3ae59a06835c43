export { KryptogoKitProvider, type KryptogoKitProviderProps } from "./kryptogo-kit-provider.tsx";
export type { PaymentLanguage } from "./messages.ts";
export {
  PaymentProvider,
  type PaymentProviderProps,
  type UsePaymentResult,
} from "./payment-provider.tsx";
export {
  type FiatCurrency,
  type OpenPaymentModalParams,
  PaymentError,
  type PaymentIntent,
  type PaymentStatus,
} from "./types.ts";
export { usePayment } from "./use-payment.ts";
