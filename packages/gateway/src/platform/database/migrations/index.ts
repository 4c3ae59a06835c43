import type { Migration } from "kysely";
import * as initial from "./2026-11-21-initial.ts";
import * as chainWatcher from "./2026-11-22-chain-watcher.ts";
import * as callbacks from "./2026-11-23-callbacks.ts";
import * as txManager from "./2026-11-24-tx-manager.ts";
import * as payouts from "./2026-11-25-payouts.ts";
import * as treasury from "./2026-11-26-treasury.ts";
import * as leases from "./2026-11-27-leases.ts";
import * as limits from "./2026-11-27-limits.ts";
import * as reorgRecovery from "./2026-11-27-reorg-recovery.ts";
import * as studioAccounts from "./2026-11-27-studio-accounts.ts";
import * as studioOperator from "./2026-11-27-studio-operator.ts";
import * as studioPayments from "./2026-11-27-studio-payments.ts";
import * as studioSettings from "./2026-11-27-studio-settings.ts";
import * as studioWithdrawals from "./2026-11-27-studio-withdrawals.ts";
import * as ledger from "./2026-11-28-ledger.ts";
import * as merchantRefunds from "./2026-11-28-merchant-refunds.ts";
import * as acceptedAssets from "./2026-11-29-accepted-assets.ts";
import * as checkoutBranding from "./2026-11-29-checkout-branding.ts";
import * as idempotency from "./2026-11-29-idempotency.ts";
import * as sweeps from "./2026-11-30-sweeps.ts";
import * as listIndexes from "./2026-12-01-list-indexes.ts";
import * as callbackClaimIndex from "./2026-12-04-callback-claim-index.ts";

// Listed explicitly (not read from the folder) so the set of migrations is what was committed,
// whatever else lies in the directory. Keys sort by date; add new ones at the end.
export const migrations: Record<string, Migration> = {
  "2026-11-21-initial": initial,
  "2026-11-22-chain-watcher": chainWatcher,
  "2026-11-23-callbacks": callbacks,
  "2026-11-24-tx-manager": txManager,
  "2026-11-25-payouts": payouts,
  "2026-11-26-treasury": treasury,
  "2026-11-27-leases": leases,
  "2026-11-27-limits": limits,
  "2026-11-27-reorg-recovery": reorgRecovery,
  "2026-11-27-studio-accounts": studioAccounts,
  "2026-11-27-studio-operator": studioOperator,
  "2026-11-27-studio-payments": studioPayments,
  "2026-11-27-studio-settings": studioSettings,
  "2026-11-27-studio-withdrawals": studioWithdrawals,
  "2026-11-28-ledger": ledger,
  "2026-11-28-merchant-refunds": merchantRefunds,
  "2026-11-29-accepted-assets": acceptedAssets,
  "2026-11-29-checkout-branding": checkoutBranding,
  "2026-11-29-idempotency": idempotency,
  "2026-11-30-sweeps": sweeps,
  "2026-12-01-list-indexes": listIndexes,
  "2026-12-04-callback-claim-index": callbackClaimIndex,
};
