import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { FollowerMetrics } from "../chain/follower/types.ts";

// Every series the gateway exposes at /metrics is defined here (docs/operations.md explains each).
// One Registry per gateway instance: tests run several gateways in one process, and prom-client's
// global default registry would mix (and refuse to re-register) their series.
//
// Two kinds of series:
// - counters and the node's head, fed by the code that sees the event through the narrow hooks
//   below (`chain`, `callbackDelivered`, `txReplaced`), which services receive as plain functions;
// - gauges of stored state (intents, callbacks, transactions, processed blocks, balances), read at
//   scrape time by the collect() callbacks of observability/collectors.ts, so no hot path knows
//   about metrics.

/** What a chain follower and watcher report; the chain key is bound by `chain(key)`. */
export interface ChainMetrics extends FollowerMetrics {
  /** A reorg that dropped `depth` processed blocks. */
  reorg(depth: number): void;
  /** A reorg below the last finalised block: the follower reads the chain again from below it. */
  deepReorg(): void;
  /** A decided payment whose confirmed transfer a deep reorg took back (payment.reversed). */
  paymentReversed(): void;
}

export type CallbackDeliveryResult = "delivered" | "retry" | "failed";

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<"method" | "route" | "status">;
  chain(chainKey: string): ChainMetrics;
  /** The head last reported per chain (lag is computed from it at scrape time). */
  heads: ReadonlyMap<string, bigint>;
  callbackDelivered(result: CallbackDeliveryResult): void;
  txReplaced(chainKey: string): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const httpDuration = new Histogram({
    name: "stablegate_http_request_duration_seconds",
    help: "HTTP requests by method, route pattern and status code.",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter({ name, help, labelNames, registers });
  const headBlock = new Gauge({
    name: "stablegate_chain_head_block",
    help: "The node's latest block number, as this process's chain follower last read it.",
    labelNames: ["chain"] as const,
    registers,
  });
  const chainLabel = ["chain"] as const;
  const reorgs = counter(
    "stablegate_chain_reorgs_total",
    "Reorgs seen by this process's chain follower.",
    chainLabel,
  );
  const reorgedBlocks = counter(
    "stablegate_chain_reorged_blocks_total",
    "Processed blocks dropped by reorgs (the sum of their depths).",
    chainLabel,
  );
  const deepReorgs = counter(
    "stablegate_chain_deep_reorgs_total",
    "Reorgs below the last finalised block; decided payments they took back are reversed.",
    chainLabel,
  );
  const paymentsReversed = counter(
    "stablegate_payments_reversed_total",
    "Decided payments whose confirmed transfer a deep reorg took back (flagged, need a person).",
    chainLabel,
  );
  const rpcLabels = ["chain", "rpc", "host"] as const;
  const rpcCalls = counter(
    "stablegate_rpc_calls_total",
    "RPC calls of the chain followers, by chain and RPC URL (position and host only).",
    rpcLabels,
  );
  const rpcErrors = counter(
    "stablegate_rpc_errors_total",
    "RPC calls that failed (the follower failed over or retried), by chain and RPC URL.",
    rpcLabels,
  );
  const callbackDeliveries = counter(
    "stablegate_callback_deliveries_total",
    "Callback delivery attempts by result: delivered, retry (will be tried again), failed (given up).",
    ["result"] as const,
  );
  const txReplacements = counter(
    "stablegate_outgoing_tx_replacements_total",
    "Outgoing transactions re-signed with higher fees because they were not mined in time.",
    chainLabel,
  );
  // Zero from the start, so a rate() or a ratio over them exists before the first event.
  for (const result of ["delivered", "retry", "failed"] as const)
    callbackDeliveries.labels({ result }).inc(0);

  const heads = new Map<string, bigint>();
  return {
    registry,
    httpDuration,
    heads,
    chain(chainKey) {
      const chain = { chain: chainKey };
      reorgs.labels(chain).inc(0);
      reorgedBlocks.labels(chain).inc(0);
      deepReorgs.labels(chain).inc(0);
      paymentsReversed.labels(chain).inc(0);
      return {
        head(blockNumber) {
          heads.set(chainKey, blockNumber);
          headBlock.labels(chain).set(Number(blockNumber));
        },
        reorg(depth) {
          reorgs.labels(chain).inc();
          reorgedBlocks.labels(chain).inc(depth);
        },
        deepReorg: () => deepReorgs.labels(chain).inc(),
        paymentReversed: () => paymentsReversed.labels(chain).inc(),
        rpcCall({ index, host }, ok) {
          const labels = { chain: chainKey, rpc: String(index), host };
          rpcCalls.labels(labels).inc();
          if (ok) rpcErrors.labels(labels).inc(0);
          else rpcErrors.labels(labels).inc();
        },
      };
    },
    callbackDelivered: (result) => callbackDeliveries.labels({ result }).inc(),
    txReplaced: (chainKey) => txReplacements.labels({ chain: chainKey }).inc(),
  };
}
