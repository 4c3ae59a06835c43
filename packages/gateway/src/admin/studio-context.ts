import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { WithdrawalService } from "../payouts/withdrawal-service.ts";
import type { Database } from "../platform/database/schema.ts";
import type { TreasuryView } from "../treasury/treasury-view.ts";
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
  /** Withdrawals with approval, through payouts/ (payouts/withdrawal-service.ts). */
  withdrawals: WithdrawalService;
  /** The treasury page and its address change (treasury/treasury-view.ts). */
  treasury: TreasuryView;
}

/** Everything an admin route file gets. */
export interface StudioContext extends StudioDependencies {
  sessions: StudioSessions;
  auth: StudioAuth;
}
