import { type Address, type Hex, parseUnits } from "viem";
import type { ApiClient } from "./api.ts";
import { type ChaosChain, DECIMALS, type Payer } from "./chain.ts";

export const SCENARIOS = [
  "exact",
  "two_part",
  "over",
  "under",
  "late",
  "unpaid",
  "reorg_remined",
  "reorg_dropped",
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Shares of the intents; the two reorg scenarios are one intent each, made during the reorg. */
const MIX: Array<[Scenario, number]> = [
  ["exact", 0.3],
  ["two_part", 0.15],
  ["over", 0.1],
  ["under", 0.15],
  ["late", 0.1],
  ["unpaid", 0.2],
];

export const OVERPAY = parseUnits("0.5", DECIMALS);
export const UNDERPAY = parseUnits("0.25", DECIMALS);

export interface PlannedIntent {
  n: number;
  scenario: Scenario;
  id: string;
  address: Address;
  /** crypto_amount in base units. */
  amount: bigint;
  deadline: number;
  payments: Array<{ from: Address; amount: bigint; hash: Hex }>;
}

/** The scenarios of `count` intents in the mix's shares, shuffled. */
export function planScenarios(count: number, random: () => number): Scenario[] {
  const plan: Scenario[] = [];
  for (const [scenario, share] of MIX) {
    for (let i = 0; i < Math.floor(count * share); i++) plan.push(scenario);
  }
  while (plan.length < count) plan.push("exact");
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j] as Scenario, plan[i] as Scenario];
  }
  return plan;
}

/** What the payer sends for a scenario paid on time (late ones are paid later, in full). */
export function paymentsFor(scenario: Scenario, amount: bigint): bigint[] {
  switch (scenario) {
    case "exact":
    case "late":
    case "reorg_remined":
    case "reorg_dropped":
      return [amount];
    case "two_part": {
      const first = amount / 2n;
      return [first, amount - first];
    }
    case "over":
      return [amount + OVERPAY];
    case "under":
      return [amount - UNDERPAY];
    case "unpaid":
      return [];
  }
}

export async function createIntent(
  api: ApiClient,
  n: number,
  scenario: Scenario,
  callbackUrl: string,
  random: () => number,
): Promise<PlannedIntent> {
  // 1.00 to 30.00 USD: above UNDERPAY, so an underpayment is never zero.
  const cents = 100 + Math.floor(random() * 2_900);
  const fiat = (cents / 100).toFixed(2);
  const res = await api.request("POST", "/v1/studio/api/payment/intent", {
    fiat_amount: fiat,
    fiat_currency: "USD",
    callback_url: callbackUrl,
    order_data: { chaos: scenario, n },
  });
  if (res.status !== 200) {
    throw new Error(
      `creating intent ${n} (${scenario}): ${res.status} ${JSON.stringify(res.body)}`,
    );
  }
  const d = res.body.data ?? {};
  return {
    n,
    scenario,
    id: String(d.payment_intent_id),
    address: String(d.payment_address) as Address,
    amount: parseUnits(String(d.crypto_amount), DECIMALS),
    deadline: Number(d.payment_deadline),
    payments: [],
  };
}

export async function pay(intent: PlannedIntent, payer: Payer, amounts: bigint[]): Promise<void> {
  for (const amount of amounts) {
    const hash = await payer.pay(intent.address, amount);
    intent.payments.push({ from: payer.address, amount, hash });
  }
}

/** Waits until every payment sent has a receipt (a payment lost before mining would hang here). */
export async function waitMined(chain: ChaosChain, intents: PlannedIntent[], timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  // The reorg's dropped payment is gone for good: it never gets a receipt.
  const hashes = intents
    .filter((i) => i.scenario !== "reorg_dropped")
    .flatMap((i) => i.payments.map((p) => p.hash));
  const pending = new Set(hashes);
  while (pending.size > 0) {
    if (Date.now() > until)
      throw new Error(`${pending.size} payments not mined within ${timeoutMs} ms`);
    for (const hash of [...pending]) {
      const receipt = await chain.rpc<{ status: string } | null>("eth_getTransactionReceipt", [
        hash,
      ]);
      if (receipt) {
        if (receipt.status !== "0x1") throw new Error(`payment ${hash} reverted`);
        pending.delete(hash);
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 500));
  }
}

/** Pays each late intent in full once the chain's head is past its deadline. */
export async function payLate(chain: ChaosChain, late: PlannedIntent[], payers: Payer[]) {
  const sorted = [...late].sort((a, b) => a.deadline - b.deadline);
  for (const [i, intent] of sorted.entries()) {
    while ((await chain.headTimestamp()) <= intent.deadline) {
      await new Promise((r) => setTimeout(r, 500));
    }
    await pay(intent, payers[i % payers.length] as Payer, [intent.amount]);
  }
}
