export {
  type CreatePaymentIntentRequest,
  createStablegateClient,
  type ErrorEnvelope,
  type FiatCurrency,
  type PaymentIntent,
  type PaymentIntentList,
  type PaymentStatus,
  StablegateApiError,
  type StablegateClient,
  type StablegateClientOptions,
  unwrap,
} from "./client.ts";
export type { components, paths } from "./openapi.d.ts";
export {
  type CallbackPayload,
  type VerifyWebhookOptions,
  verifyWebhook,
  WebhookVerificationError,
  type WebhookVerificationReason,
} from "./verify-webhook.ts";
