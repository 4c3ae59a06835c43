import type { Hex } from "viem";
import type { ChaosChain } from "./chain.ts";
import type { ChaosDatabase } from "./database.ts";
import type { Cluster } from "./processes.ts";
import type { TcpProxy } from "./proxy.ts";
import type { PlannedIntent } from "./scenarios.ts";

export interface Killer {
  stop(): Promise<void>;
  readonly running: boolean;
}

/**
 * kill -9 of a random gateway every `everyMs`, restarted at once, until `max` kills or stop().
 * The pause between kills is the fault's rhythm, not a wait for an outcome.
 */
export function startKiller(
  cluster: Cluster,
  options: { everyMs: number; max: number; random: () => number },
): Killer {
  let running = true;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (running && cluster.kills.length < options.max) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, options.everyMs);
      });
      if (!running) break;
      const node = cluster.nodes[Math.floor(options.random() * cluster.nodes.length)];
      if (node) await cluster.killAndRestart(node);
    }
    running = false;
  })();
  return {
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
    get running() {
      return running;
    },
  };
}

export interface OutageRecord {
  startedAt: number;
  ms: number;
  /** The error a gateway recorded for the chain while cut off (chain_status.last_error). */
  seenByGateway: string | null;
}

/** Cuts the gateways' RPC for `ms`, and records whether the chain's leader noticed. */
export async function rpcOutage(
  proxy: TcpProxy,
  db: ChaosDatabase,
  ms: number,
): Promise<OutageRecord> {
  const startedAt = Date.now();
  proxy.cut();
  let seenByGateway: string | null = null;
  while (Date.now() - startedAt < ms) {
    const [row] = await db.query<{ last_error: string | null; failing: boolean }>(
      "select last_error, failing_since is not null as failing from chain_status",
    );
    if (row?.failing) seenByGateway = row.last_error;
    await new Promise((r) => setTimeout(r, 500));
  }
  proxy.restore();
  return { startedAt, ms: Date.now() - startedAt, seenByGateway };
}

export interface ReorgRecord {
  /** The block the reorg took away, with both payments in it. */
  droppedBlock: { number: number; hash: Hex };
  remined: Hex;
  dropped: Hex;
  /** The transfers' state in the database just before the revert ("seen": not yet confirmed). */
  statesBefore: string[];
}

/**
 * A reorg one block deep, before confirmation: with interval mining paused, two payments are
 * mined in one block; once a gateway has stored both transfers as seen (not confirmed:
 * CONFIRMATIONS_ARB is 2 and no block follows), the chain is reverted to before that block, only
 * the first payment is broadcast again, and mining resumes. The first intent must end success,
 * the second expired.
 */
export async function reorgBeforeConfirmation(
  chain: ChaosChain,
  db: ChaosDatabase,
  remined: PlannedIntent,
  dropped: PlannedIntent,
  blockTimeSeconds: number,
): Promise<ReorgRecord> {
  const [payerA, payerB] = chain.reorgPayers;
  await chain.rpc("evm_setIntervalMining", [0]);
  try {
    const snapshot = await chain.rpc<Hex>("evm_snapshot");
    const a = await payerA.sign(remined.address, remined.amount);
    const b = await payerB.sign(dropped.address, dropped.amount);
    await chain.rpc("eth_sendRawTransaction", [a.raw]);
    await chain.rpc("eth_sendRawTransaction", [b.raw]);
    await chain.rpc("evm_mine");
    const receipt = await chain.client.getTransactionReceipt({ hash: a.hash });
    const other = await chain.client.getTransactionReceipt({ hash: b.hash });
    if (receipt.blockHash !== other.blockHash) throw new Error("reorg payments in two blocks");
    remined.payments.push({ from: payerA.address, amount: remined.amount, hash: a.hash });
    dropped.payments.push({ from: payerB.address, amount: dropped.amount, hash: b.hash });

    let states: string[] = [];
    const until = Date.now() + 120_000;
    while (states.length < 2) {
      if (Date.now() > until)
        throw new Error("no gateway stored the reorg's payments within 120 s");
      states = (
        await db.query<{ state: string }>(
          "select state from transfers where tx_hash = any($1) order by tx_hash",
          [[a.hash, b.hash]],
        )
      ).map((r) => r.state);
      if (states.length < 2) await new Promise((r) => setTimeout(r, 200));
    }
    if (!(await chain.rpc<boolean>("evm_revert", [snapshot]))) throw new Error("evm_revert failed");
    // A revert may hand the block's transactions back to the pool: the dropped one must not come
    // back, the re-mined one may already be there.
    await chain.rpc("anvil_dropTransaction", [b.hash]);
    payerA.resetNonce();
    payerB.resetNonce();
    await chain.rpc("eth_sendRawTransaction", [a.raw]).catch((error: Error) => {
      if (!/already|known/i.test(error.message)) throw error;
    });
    return {
      droppedBlock: { number: Number(receipt.blockNumber), hash: receipt.blockHash },
      remined: a.hash,
      dropped: b.hash,
      statesBefore: states,
    };
  } finally {
    await chain.rpc("evm_setIntervalMining", [blockTimeSeconds]);
  }
}
