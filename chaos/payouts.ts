import { randomBytes } from "node:crypto";
import { type Address, formatUnits, getAddress, parseUnits } from "viem";
import type { ApiClient } from "./api.ts";
import { CHAIN_KEY, DECIMALS, TOKEN } from "./chain.ts";

/** How the client sends a payout's request the second time, with the same Idempotency-Key. */
export type RetryMode = "concurrent" | "sequential" | "after_kill";

export interface PlannedPayout {
  key: string;
  mode: RetryMode;
  to: Address;
  amount: bigint;
  /** Each 200 answer: the transfer id and tx hash it named. */
  answers: Array<{ id: string; txHash: string; node: string }>;
  /** Any other final answer (a refusal), which the checks report. */
  refusals: string[];
}

export function planPayouts(count: number, random: () => number): PlannedPayout[] {
  const modes: RetryMode[] = ["concurrent", "sequential", "after_kill"];
  return Array.from({ length: count }, (_, i) => ({
    key: `chaos-payout-${i}-${randomBytes(4).toString("hex")}`,
    mode: modes[i % modes.length] as RetryMode,
    to: getAddress(`0x${randomBytes(20).toString("hex")}`),
    amount: parseUnits((1 + Math.floor(random() * 1_900) / 100).toFixed(2), DECIMALS),
    answers: [],
    refusals: [],
  }));
}

export async function sendPayout(api: ApiClient, payout: PlannedPayout): Promise<void> {
  const res = await api.request(
    "POST",
    "/v1/studio/api/asset_pro/transfer",
    {
      chain_id: CHAIN_KEY,
      contract_address: TOKEN,
      amount: formatUnits(payout.amount, DECIMALS),
      wallet_address: payout.to,
    },
    { "Idempotency-Key": payout.key },
  );
  if (res.status === 200) {
    payout.answers.push({
      id: String(res.body.data?.id),
      txHash: String(res.body.data?.tx_hash),
      node: res.node,
    });
  } else {
    payout.refusals.push(`${res.status} ${JSON.stringify(res.body)}`);
  }
}

/**
 * Sends every payout twice under its key: both at once, one after the other, or the second after
 * the next kill of a gateway (`killsSoFar` rises; `killing` false means no kill is coming).
 */
export async function runPayouts(
  api: ApiClient,
  payouts: PlannedPayout[],
  options: { concurrency: number; killsSoFar: () => number; killing: () => boolean },
): Promise<void> {
  let next = 0;
  const laterAfterKill: Array<Promise<void>> = [];
  const lane = async () => {
    for (let i = next++; i < payouts.length; i = next++) {
      const payout = payouts[i] as PlannedPayout;
      if (payout.mode === "concurrent") {
        await Promise.all([sendPayout(api, payout), sendPayout(api, payout)]);
      } else if (payout.mode === "sequential") {
        await sendPayout(api, payout);
        await sendPayout(api, payout);
      } else {
        const kills = options.killsSoFar();
        await sendPayout(api, payout);
        laterAfterKill.push(
          (async () => {
            while (options.killing() && options.killsSoFar() === kills) {
              await new Promise((r) => setTimeout(r, 250));
            }
            await sendPayout(api, payout);
          })(),
        );
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  await Promise.all(laterAfterKill);
}
