import type { ChainTxView, TxManager } from "../chain/tx-manager/tx-manager.ts";
import type { DepositAccounts, DepositTransferRequest } from "./deposit-accounts.ts";

/** A precondition found the work stopped (a deep reorg took its payment): nothing was sent. */
export class TreasuryWorkStoppedError extends Error {
  override name = "TreasuryWorkStoppedError";
}

/** Where one intent's treasury work stands: finished, or to look at again after `until`. */
export type TreasuryStep =
  | { kind: "done" }
  | {
      kind: "wait";
      until: Date;
      reason: string;
      /** The deposit address's next transfer may be asked for before this one is done. */
      concurrent?: boolean;
    };

/**
 * The step both refunds and collections take: the chain transaction behind a row, submitted
 * (one step toward it) if the row has none yet, else read back from the transaction manager.
 */
export function createDepositSender(options: {
  txManager: Pick<TxManager, "get">;
  depositAccounts: DepositAccounts;
  now: () => Date;
  /** How long a step that is waiting for the chain waits by default. */
  intervalMs: number;
}) {
  const { txManager, depositAccounts, now } = options;

  const wait = (reason: string, ms = options.intervalMs): TreasuryStep & { kind: "wait" } => ({
    kind: "wait",
    until: new Date(now().getTime() + ms),
    reason,
  });

  async function send(
    current: number | string | null,
    request: DepositTransferRequest,
    record: (tx: ChainTxView) => Promise<void>,
  ): Promise<ChainTxView | TreasuryStep> {
    if (current !== null) {
      const tx = await txManager.get(Number(current));
      if (!tx) throw new Error(`chain transaction ${current} is missing`);
      return tx;
    }
    const step = await depositAccounts.transfer(request);
    if (step.state === "waiting") {
      const waiting = wait(step.reason, Math.max(options.intervalMs, step.retryAfterMs ?? 0));
      return step.concurrent ? { ...waiting, concurrent: true } : waiting;
    }
    await record(step.tx);
    return step.tx;
  }

  return { send, wait, settled: (tx: ChainTxView) => depositAccounts.settled(tx) };
}

export type DepositSender = ReturnType<typeof createDepositSender>;
