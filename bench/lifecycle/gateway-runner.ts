import { performance } from "node:perf_hooks";
import { type Kysely, sql } from "kysely";
import type { Logger } from "pino";
import type { RegisteredChain } from "../../packages/gateway/src/chain/chain-registry.ts";
import type { FollowerEvent } from "../../packages/gateway/src/chain/follower/types.ts";
import { type Gateway, startGateway } from "../../packages/gateway/src/gateway.ts";
import type { Config } from "../../packages/gateway/src/platform/config.ts";
import type { DatabaseHandle } from "../../packages/gateway/src/platform/database/create-database.ts";
import type { LocalChain } from "../../packages/gateway/src/sandbox/local-chain.ts";
import { now, sleep } from "./clock.ts";
import { headNumber } from "./json-rpc.ts";

/** The key anvil is registered under, as the sandbox registers it. */
export const CHAIN_KEY = "local";

export interface ApplyTimes {
  /** Wall time of each ingest.applyAll (one transaction), by its first event's type. */
  ms: Record<FollowerEvent["type"], number>;
  count: Record<FollowerEvent["type"], number>;
  /** `block` events applied: the blocks the watcher processed one by one. */
  blocks: number;
}

export interface Running {
  gateway: Gateway;
  applies: ApplyTimes;
}

export interface GatewayRunner {
  /**
   * Starts a gateway whose watcher reads `rpcUrl` every `pollingIntervalMs`, or with `wsUrl`
   * is pushed new heads over a websocket.
   */
  start(rpcUrl: string, pollingIntervalMs: number, wsUrl?: string): Promise<Running>;
  /** Stops the running gateway, if any. */
  stop(): Promise<void>;
}

/**
 * One gateway at a time on the same database and chain, restarted for each polling interval and
 * RPC URL under test, with the watcher's ingest.applyAll timed.
 */
export function createGatewayRunner(deps: {
  config: Config;
  log: Logger;
  seed: Uint8Array;
  database: DatabaseHandle;
  chain: LocalChain;
}): GatewayRunner {
  let current: Running | undefined;
  return {
    async start(rpcUrl, pollingIntervalMs, wsUrl) {
      const gateway = await startGateway({
        config: deps.config,
        log: deps.log,
        seed: deps.seed,
        database: deps.database,
        extraChains: [{ ...localChain(deps.chain, rpcUrl, pollingIntervalMs), wsUrl }],
      });
      const applies: ApplyTimes = {
        ms: { block: 0, finalize: 0, reorg: 0, backfill: 0 },
        count: { block: 0, finalize: 0, reorg: 0, backfill: 0 },
        blocks: 0,
      };
      // The watcher calls ingest.applyAll on this very object for each batch (a block and the
      // finalize it brings are one batch, one transaction): time it there, under the batch's
      // first event type.
      const ingest = gateway.services.ingest;
      const applyAll = ingest.applyAll.bind(ingest);
      ingest.applyAll = async (chainKey, events, expected, lease) => {
        const started = performance.now();
        const type = events[0]?.type ?? "block";
        try {
          const applied = await applyAll(chainKey, events, expected, lease);
          applies.blocks += events.filter((e) => e.type === "block").length;
          return applied;
        } finally {
          applies.ms[type] += performance.now() - started;
          applies.count[type] += 1;
        }
      };
      current = { gateway, applies };
      return current;
    },
    async stop() {
      const running = current;
      current = undefined;
      await running?.gateway.stop();
    },
  };
}

function localChain(chain: LocalChain, rpcUrl: string, pollingIntervalMs: number): RegisteredChain {
  // As the sandbox registers it (sandbox.ts), with the polling interval under test.
  return {
    key: CHAIN_KEY,
    evmChainId: chain.evmChainId,
    name: "Sandbox (anvil)",
    tokens: [
      { symbol: chain.tokenSymbol, address: chain.tokenAddress, decimals: chain.tokenDecimals },
    ],
    rpcUrls: [rpcUrl],
    confirmations: 1,
    pollingIntervalMs,
  };
}

/** Waits until the watcher has stored the chain's head block (at most 60 s). */
export async function waitCaughtUp(
  db: Kysely<unknown>,
  rpcUrl: string,
  signal: AbortSignal,
): Promise<void> {
  const until = now() + 60_000;
  for (;;) {
    const head = await headNumber(rpcUrl);
    const { rows } = await sql<{ n: string | null }>`
      select max(number)::text as n from chain_blocks where chain_id = ${CHAIN_KEY}`.execute(db);
    const tip = rows[0]?.n;
    if (tip != null && Number(tip) >= head) return;
    if (now() > until)
      throw new Error(`the watcher did not catch up within 60 s (head ${head}, stored ${tip})`);
    await sleep(100, signal);
  }
}
