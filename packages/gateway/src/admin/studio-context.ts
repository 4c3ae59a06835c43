import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { PublicClient } from "viem";
import type { CallbackService } from "../callbacks/callback-service.ts";
import type { CallbackUrlGuard } from "../callbacks/url-guard.ts";
import type { ChainRegistry } from "../chain/chain-registry.ts";
import type { Wallets } from "../chain/wallets.ts";
import type { Reconciler } from "../ledger/reconcile.ts";
import type { OrgSettingsService } from "../organizations/org-settings.ts";
import type { TenancyService } from "../organizations/tenancy-service.ts";
import type { WebhookSecrets } from "../organizations/webhook-secrets.ts";
import type { PaymentLinks } from "../payments/links/payment-link-service.ts";
import type { WithdrawalService } from "../payouts/withdrawal-service.ts";
import type { Database } from "../platform/database/schema.ts";
import type { MerchantRefundService } from "../treasury/merchant-refund-service.ts";
import type { TreasuryView } from "../treasury/treasury-view.ts";
import type { InvitationMailer } from "./invitation-mail.ts";
import type { OperatorHealthDependencies } from "./operator-health.ts";
import type { StudioAuth } from "./studio-auth.ts";
import type { StudioSessions } from "./studio-sessions.ts";

/** What the admin API's routes are built from; gateway.ts passes it to createApp. */
export interface StudioDependencies {
  db: Kysely<Database>;
  log: Logger;
  /** Cookies carry `Secure` (everywhere but the sandbox, which serves plain http). */
  secureCookies: boolean;
  sessionIdleMs: number;
  sessionAbsoluteMs: number;
  trustProxy: number;
  /** Organisations (the operator creates them through it, as the CLI does); keys and clients. */
  tenancy: TenancyService;
  /** What the operator's health page reads. */
  health: OperatorHealthDependencies;
  // PAY (admin/payments/): payments, callbacks, overview, exports.
  chains: ChainRegistry;
  callbacks: CallbackService;
  callbackGuard: CallbackUrlGuard;
  webhookSecrets: WebhookSecrets;
  /** CALLBACK_TIMEOUT_MS, for a test event. */
  callbackTimeoutMs: number;
  wallets: Wallets;
  rpcClient: (chainKey: string) => PublicClient;
  /** Withdrawals with approval, through payouts/ (payouts/withdrawal-service.ts). */
  withdrawals: WithdrawalService;
  /** The treasury page and its address change (treasury/treasury-view.ts). */
  treasury: TreasuryView;
  /** Developers, settings and payment links. */
  orgSettings: OrgSettingsService;
  paymentLinks: PaymentLinks;
  /** The ledger against the chain (ledger/reconcile.ts), for the operator. */
  reconciler: Reconciler;
  /** Merchant refunds (treasury/merchant-refund-service.ts), the API's own service. */
  merchantRefunds: MerchantRefundService;
  /** Invitation links by email too, when SMTP_URL is set. */
  invitationMailer?: InvitationMailer | undefined;
}

/** Everything an admin route file gets. */
export interface StudioContext extends StudioDependencies {
  sessions: StudioSessions;
  auth: StudioAuth;
}
