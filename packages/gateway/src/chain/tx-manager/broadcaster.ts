import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Hex, PublicClient } from "viem";
import type { ChainTxPurpose, Database } from "../../platform/database/schema.ts";
import type { ChainTxRow } from "./chain-tx-view.ts";
import { classifyTxError, type TxErrorKind } from "./classify-error.ts";

/** Crash tests only: where the manager kills its own process. */
export type CrashPoint = "after-sign" | "after-broadcast";

export interface CreateBroadcasterParameters {
  db: Kysely<Database>;
  client: (chainKey: string) => PublicClient;
  log: Logger;
  now: () => Date;
  crash: (point: CrashPoint, purpose: ChainTxPurpose) => void;
}

/** Sends a transaction's current signed bytes and records why a node refused them. */
export function createBroadcaster(parameters: CreateBroadcasterParameters) {
  const { db, client, log, now, crash } = parameters;

  async function setError(row: ChainTxRow, kind: TxErrorKind, message: string): Promise<void> {
    if (row.error_kind !== kind) {
      // Logged once per change of reason: an operator sees each new problem, not every retry.
      const alert = kind === "insufficient_funds" || kind === "rpc" ? "error" : "warn";
      log[alert](
        { chain: row.chain_id, sender: row.sender, nonce: Number(row.nonce), kind, message },
        kind === "insufficient_funds"
          ? "transaction cannot be sent: the sender needs funds"
          : "transaction broadcast failed",
      );
    }
    await db
      .updateTable("chain_txs")
      .set({ error_kind: kind, error: message, updated_at: now() })
      .where("id", "=", row.id)
      .execute();
  }

  /** Sends the current signed bytes; a node that already has them is a success. */
  async function broadcast(row: ChainTxRow, head: bigint): Promise<void> {
    try {
      await client(row.chain_id).sendRawTransaction({ serializedTransaction: row.raw_tx as Hex });
    } catch (err) {
      const { kind, message } = classifyTxError(err);
      // The node has it already, or this nonce is mined (probably as this very transaction):
      // receipts tell.
      if (kind !== "nonce_too_low") {
        await setError(row, kind, message);
        return;
      }
    }
    crash("after-broadcast", row.purpose);
    if (row.state === "signed") {
      await db
        .updateTable("chain_txs")
        .set({ state: "broadcast", broadcast_block: head, updated_at: now() })
        .where("id", "=", row.id)
        .where("state", "=", "signed")
        .execute();
    }
  }

  return { broadcast, setError };
}

export type Broadcaster = ReturnType<typeof createBroadcaster>;
