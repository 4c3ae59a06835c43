import { randomBytes } from "node:crypto";
import { type Kysely, sql } from "kysely";
import { type Address, type Hex, parseUnits } from "viem";
import type { FollowerEvent } from "../../packages/gateway/src/chain/follower/types.ts";
import type { LocalChain } from "../../packages/gateway/src/sandbox/local-chain.ts";
import { now, sleepUntil } from "./clock.ts";
import { CHAIN_KEY, type Running } from "./gateway-runner.ts";
import type { HeadObserver } from "./head-observer.ts";
import { receipts } from "./json-rpc.ts";
import type { Payer } from "./payer.ts";
import type { Settings } from "./settings.ts";
import { type Stats, stats } from "./stats.ts";

/** How often each paid intent is read through the API while its success is awaited. */
export const API_POLL_MS = 20;

const CREATE_BODY = {
  fiat_amount: "300.0",
  fiat_currency: "TWD",
  group_key: "bench-lifecycle",
} as const;

export interface LatencyResult {
  pollMs: number;
  /** New heads pushed over a websocket instead of polled. */
  ws: boolean;
  payments: number;
  blocks: number;
  maxPerBlock: number;
  /** First observation of the block holding the payment -> GET shows success. */
  seenToApi: Stats;
  /** First observation -> the success history row's created_at (before COMMIT). */
  seenToCommit: Stats;
  /** eth_sendRawTransaction returned -> GET shows success (includes waiting to be mined). */
  sentToApi: Stats;
  applyMs: { block: number; other: number };
}

interface Intent {
  id: string;
  to: Address;
  value: bigint;
  raw?: Hex;
  txHash?: Hex;
  sentAt?: number;
  pollable?: boolean;
  successAt?: number;
}

/**
 * One latency row: `payments` intents created through the API, each paid exactly, `perBlock` per
 * block interval at random moments, each read through the API until it shows success.
 */
export async function measureLatency(options: {
  running: Running;
  db: Kysely<unknown>;
  chain: LocalChain;
  payer: Payer;
  heads: HeadObserver;
  apiKey: string;
  settings: Settings;
  pollMs: number;
  ws: boolean;
  payments: number;
  signal: AbortSignal;
}): Promise<LatencyResult> {
  const { running, db, chain, payer, heads, apiKey, settings, signal } = options;
  const base = `${running.gateway.url}/v1/studio/api/payment/intent`;
  const auth = { "x-studio-api-key": apiKey };

  // Intents first, through the API, then every transfer signed: signing during the run would
  // take the main thread from the gateway at the moments being measured.
  const intents: Intent[] = [];
  for (let i = 0; i < options.payments; i++) {
    const res = await fetch(base, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        ...CREATE_BODY,
        order_data: { order_id: `${randomBytes(6).toString("hex")}_${i}` },
      }),
    });
    const body = (await res.json()) as {
      code: number;
      data?: {
        payment_intent_id: string;
        payment_address: Address;
        crypto_amount: string;
        decimals: number;
        payment_chain_id: string;
        status: string;
      };
    };
    const d = body.data;
    if (body.code !== 0 || !d || d.payment_chain_id !== CHAIN_KEY || d.status !== "pending")
      throw new Error(`create answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
    intents.push({
      id: d.payment_intent_id,
      to: d.payment_address,
      value: parseUnits(d.crypto_amount, d.decimals),
    });
  }
  const raws = await payer.sign(intents);
  intents.forEach((intent, i) => {
    intent.raw = raws[i];
  });

  const blockMs = settings.blockTimeSeconds * 1000;
  const slot = blockMs / settings.perBlock;
  const start = now() + 300;
  const appliesBefore = structuredClone(running.applies);

  // One payment per slot, at a random moment within it: payments land at every phase of a block.
  const sender = (async () => {
    for (const [i, intent] of intents.entries()) {
      await sleepUntil(start + i * slot + Math.random() * slot, signal);
      intent.txHash = await payer.send(intent.raw as Hex);
      intent.sentAt = now();
    }
  })();

  // One loop reads every intent whose payment may be in a block already (a block was seen after
  // it was sent), each every API_POLL_MS, until GET shows success.
  const poller = (async () => {
    let lastSent = Number.POSITIVE_INFINITY;
    for (;;) {
      const tick = now();
      const lastBlockAt = heads.lastSeenAt();
      for (const intent of intents) {
        if (!intent.pollable && intent.sentAt !== undefined && lastBlockAt > intent.sentAt)
          intent.pollable = true;
      }
      const due = intents.filter((i) => i.pollable && i.successAt === undefined);
      await Promise.all(
        due.map(async (intent) => {
          const res = await fetch(`${base}/${intent.id}`, { headers: auth });
          const body = (await res.json()) as { code: number; data?: { status: string } };
          const status = body.data?.status;
          if (status === "success") intent.successAt = now();
          else if (status !== "pending")
            throw new Error(`intent ${intent.id}: ${JSON.stringify(body).slice(0, 300)}`);
        }),
      );
      if (intents.every((i) => i.successAt !== undefined)) return;
      if (intents.every((i) => i.sentAt !== undefined))
        lastSent = Math.min(lastSent, Math.max(...intents.map((i) => i.sentAt ?? 0)));
      if (now() - lastSent > 30_000) {
        const missing = intents.filter((i) => i.successAt === undefined).map((i) => i.id);
        throw new Error(
          `${missing.length} intents not success 30 s after the last payment: ${missing.slice(0, 5).join(", ")}`,
        );
      }
      await sleepUntil(tick + API_POLL_MS, signal);
    }
  })();
  await Promise.all([sender, poller]);
  const appliesAfter = structuredClone(running.applies);

  // After the run: which block each payment landed in, and when the gateway decided.
  const mined = await receipts(
    chain.rpcUrl,
    intents.map((i) => i.txHash as Hex),
  );
  const { rows: history } = await sql<{ payment_intent_id: string; created_at: Date | string }>`
    select payment_intent_id, created_at from payment_intent_status_history
    where to_status = 'success' and payment_intent_id in (${sql.join(intents.map((i) => i.id))})`.execute(
    db,
  );
  const committedAt = new Map(history.map((h) => [h.payment_intent_id, new Date(h.created_at)]));
  const seenToApi: number[] = [];
  const seenToCommit: number[] = [];
  const sentToApi: number[] = [];
  const perBlock = new Map<number, number>();
  intents.forEach((intent, i) => {
    const r = mined[i];
    if (r?.status !== "0x1") throw new Error(`payment to ${intent.id} failed on chain`);
    const seenAt = heads.seen.get(r.blockNumber);
    if (seenAt === undefined) throw new Error(`block ${r.blockNumber} was never observed`);
    const committed = committedAt.get(intent.id);
    if (committed === undefined) throw new Error(`intent ${intent.id} has no success history`);
    seenToApi.push((intent.successAt as number) - seenAt);
    seenToCommit.push(committed.getTime() - seenAt);
    sentToApi.push((intent.successAt as number) - (intent.sentAt as number));
    perBlock.set(r.blockNumber, (perBlock.get(r.blockNumber) ?? 0) + 1);
  });
  const per = (types: FollowerEvent["type"][]) => {
    const sum = (x: Record<FollowerEvent["type"], number>) => types.reduce((s, t) => s + x[t], 0);
    return (
      (sum(appliesAfter.ms) - sum(appliesBefore.ms)) /
      Math.max(1, sum(appliesAfter.count) - sum(appliesBefore.count))
    );
  };
  return {
    pollMs: options.pollMs,
    ws: options.ws,
    payments: intents.length,
    blocks: perBlock.size,
    maxPerBlock: Math.max(...perBlock.values()),
    seenToApi: stats(seenToApi),
    seenToCommit: stats(seenToCommit),
    sentToApi: stats(sentToApi),
    applyMs: { block: per(["block"]), other: per(["finalize", "reorg", "backfill"]) },
  };
}
