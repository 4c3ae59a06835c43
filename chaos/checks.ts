import { type Address, parseAbiItem } from "viem";
import { type ChaosChain, DECIMALS, TOKEN } from "./chain.ts";
import type { ChaosDatabase } from "./database.ts";
import type { ReorgRecord } from "./faults.ts";
import type { PlannedPayout } from "./payouts.ts";
import type { Delivery } from "./receiver.ts";
import { OVERPAY, type PlannedIntent, type Scenario } from "./scenarios.ts";

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Problems found, each a readable line (the first few are printed). */
  problems: string[];
}

export interface ScenarioTally {
  scenario: Scenario | "untracked";
  expected: number;
  got: number;
}

export interface ChainTally {
  purpose: string;
  meant: number;
  onChain: number;
  extra: number;
}

const transferEvent = parseAbiItem(
  "event Transfer(address indexed from, address indexed to, uint256 value)",
);

/** Amounts are stored in base units (numeric, no fraction). */
const units = (v: string | null | undefined): bigint => (v == null ? 0n : BigInt(String(v)));
const lower = (a: string | null | undefined) => (a ?? "").toLowerCase();

/** The status, callbacks and amounts a scenario must end with. */
function expectation(scenario: Scenario | "untracked") {
  switch (scenario) {
    case "exact":
    case "two_part":
    case "over":
    case "reorg_remined":
      return { status: "success", callbacks: ["success"] };
    case "under":
      return {
        status: "insufficient_refunded",
        callbacks: ["insufficient_not_refunded", "insufficient_refunded"],
      };
    case "late":
      // The status change, then the late payment's own events (docs/callbacks.md, "Other events").
      return {
        status: "expired",
        callbacks: [
          "expired",
          "late_payment.detected",
          "late_payment.refund_sent",
          "late_payment.refunded",
        ],
      };
    default:
      return { status: "expired", callbacks: ["expired"] };
  }
}

/** Every intent in the status and amounts its scenario dictates. */
export async function checkIntents(
  db: ChaosDatabase,
  intents: PlannedIntent[],
  feeBps: number,
): Promise<{ result: CheckResult; tally: ScenarioTally[] }> {
  const rows = await db.query<Record<string, string | null> & { id: string }>(
    `select id, status, received_amount::text, refund_amount::text, aggregated_amount::text,
            excess_amount::text, late_amount::text, late_refund_amount::text, reversed_at,
            order_data from payment_intents`,
  );
  const byId = new Map(rows.map((r) => [r.id as string, r]));
  const problems: string[] = [];
  const tally = new Map<string, ScenarioTally>();
  const count = (scenario: ScenarioTally["scenario"], ok: boolean) => {
    const t = tally.get(scenario) ?? { scenario, expected: 0, got: 0 };
    t.expected += 1;
    if (ok) t.got += 1;
    tally.set(scenario, t);
  };
  const planned = new Set(intents.map((i) => i.id));

  for (const intent of intents) {
    const row = byId.get(intent.id);
    const bad: string[] = [];
    const paid = intent.payments.reduce((s, p) => s + p.amount, 0n);
    const want = expectation(intent.scenario);
    if (!row) bad.push("missing from the database");
    else {
      if (row.status !== want.status) bad.push(`status ${row.status}, expected ${want.status}`);
      if (row.reversed_at) bad.push("reversed");
      const expectAmount = (field: string, value: bigint) => {
        if (units(row[field]) !== value) bad.push(`${field} ${row[field]}, expected ${value}`);
      };
      switch (intent.scenario) {
        case "exact":
        case "two_part":
        case "over":
        case "reorg_remined": {
          const received = intent.scenario === "reorg_remined" ? intent.amount : paid;
          expectAmount("received_amount", received);
          expectAmount("excess_amount", intent.scenario === "over" ? OVERPAY : 0n);
          // received minus the fee, rounded down to the quoted precision (2 decimals).
          const step = 10n ** BigInt(DECIMALS - 2);
          expectAmount(
            "aggregated_amount",
            ((received * BigInt(10_000 - feeBps)) / 10_000n / step) * step,
          );
          break;
        }
        case "under":
          expectAmount("received_amount", paid);
          expectAmount("refund_amount", paid);
          break;
        case "late":
          expectAmount("received_amount", 0n);
          expectAmount("late_amount", paid);
          expectAmount("late_refund_amount", paid);
          break;
        default:
          expectAmount("received_amount", 0n);
          expectAmount("refund_amount", 0n);
      }
    }
    if (bad.length > 0) problems.push(`${intent.scenario} ${intent.id}: ${bad.join("; ")}`);
    count(intent.scenario, bad.length === 0);
  }
  // Intents the script does not know of: a create whose answer was lost with a killed process,
  // sent again. Nobody paid them: they must expire.
  for (const row of rows) {
    if (planned.has(row.id)) continue;
    const ok = row.status === "expired" && units(row.received_amount) === 0n;
    if (!ok) problems.push(`untracked ${row.id}: status ${row.status}`);
    count("untracked", ok);
  }
  return {
    result: {
      name: "intents in their scenario's status and amounts",
      ok: problems.length === 0,
      problems,
    },
    tally: [...tally.values()],
  };
}

/**
 * Every status change delivered at least once, signed, in order per intent: the outbox holds
 * exactly the scenario's events, each delivered, and the receiver had a 2xx for each before the
 * next event of that intent first arrived.
 */
export async function checkCallbacks(
  db: ChaosDatabase,
  intents: PlannedIntent[],
  deliveries: Delivery[],
): Promise<{
  result: CheckResult;
  delivered: number;
  failedAttempts: number;
  badSignatures: number;
}> {
  const events = await db.query<{
    id: string;
    payment_intent_id: string;
    status: string;
    event: string | null;
    state: string;
  }>("select id, payment_intent_id, status, event, state from callback_events order by position");
  const byIntent = new Map<string, typeof events>();
  for (const e of events) {
    const list = byIntent.get(e.payment_intent_id) ?? [];
    list.push(e);
    byIntent.set(e.payment_intent_id, list);
  }
  const firstOk = new Map<string, number>();
  const firstSeen = new Map<string, number>();
  for (const d of deliveries) {
    if (!firstSeen.has(d.eventId)) firstSeen.set(d.eventId, d.at);
    if (d.answer === "ok" && !firstOk.has(d.eventId)) firstOk.set(d.eventId, d.at);
  }
  const problems: string[] = [];
  const bad = deliveries.filter((d) => d.badSignature);
  for (const d of bad.slice(0, 5))
    problems.push(`event ${d.eventId}: signature refused (${d.badSignature})`);
  const known = new Set(events.map((e) => e.id));
  for (const d of deliveries) {
    if (!known.has(d.eventId))
      problems.push(`received event ${d.eventId} that the outbox does not hold`);
  }
  const planned = new Map(intents.map((i) => [i.id, i.scenario]));
  const allIntents = new Set([...planned.keys(), ...byIntent.keys()]);
  for (const id of allIntents) {
    const list = byIntent.get(id) ?? [];
    const want = expectation(planned.get(id) ?? "untracked").callbacks;
    // A status change is named by its status; any other event (a late payment's) by its name.
    const got = list.map((e) => e.event ?? e.status);
    if (got.join() !== want.join()) problems.push(`${id}: events [${got}], expected [${want}]`);
    for (const [i, e] of list.entries()) {
      if (e.state !== "delivered")
        problems.push(`${id}: event ${e.id} (${e.status}) is ${e.state}`);
      const ok = firstOk.get(e.id);
      if (ok === undefined) {
        problems.push(`${id}: event ${e.id} (${e.status}) never answered 2xx by the receiver`);
        continue;
      }
      const next = list[i + 1];
      const nextSeen = next ? firstSeen.get(next.id) : undefined;
      if (next && nextSeen !== undefined && nextSeen < ok) {
        problems.push(`${id}: ${next.status} arrived before ${e.status} was delivered`);
      }
    }
  }
  return {
    result: {
      name: "callbacks: each status change and event delivered, signed, in order",
      ok: problems.length === 0,
      problems,
    },
    delivered: firstOk.size,
    failedAttempts: deliveries.filter((d) => d.answer !== "ok").length,
    badSignatures: bad.length,
  };
}

type Move = { from: string; to: string; amount: bigint };
const moveKey = (m: Move) => `${m.from}>${m.to}:${m.amount}`;

/** Multiset difference: what `onChain` holds more often than `meant`, and what it lacks. */
function compareMoves(meant: Move[], onChain: Move[]) {
  const counts = new Map<string, number>();
  for (const m of meant) counts.set(moveKey(m), (counts.get(moveKey(m)) ?? 0) + 1);
  for (const m of onChain) counts.set(moveKey(m), (counts.get(moveKey(m)) ?? 0) - 1);
  const extra: string[] = [];
  const missing: string[] = [];
  for (const [k, n] of counts) {
    if (n < 0) extra.push(`${k} ×${-n}`);
    if (n > 0) missing.push(`${k} ×${n}`);
  }
  return { extra, missing };
}

/**
 * ZERO duplicate sends: the chain's token transfers out of deposit addresses and the hot wallet,
 * and the gas wallet's native transfers, against what the database says was meant (one per
 * refund row, collection leg, payout, top-up); every transaction any gateway wallet sent is one
 * the transaction manager recorded; every deposit address is empty.
 */
export async function checkOnChain(
  db: ChaosDatabase,
  chain: ChaosChain,
  payouts: PlannedPayout[],
  wallets: { gas: Address; hot: Address },
): Promise<{ result: CheckResult; tally: ChainTally[]; duplicates: number }> {
  const problems: string[] = [];
  const head = await chain.client.getBlockNumber();
  const logs = await chain.client.getLogs({
    address: TOKEN,
    event: transferEvent,
    fromBlock: 0n,
    toBlock: head,
  });
  const moves: Move[] = logs.map((l) => ({
    from: lower(l.args.from),
    to: lower(l.args.to),
    amount: l.args.value ?? 0n,
  }));
  const deposits = new Set(
    (await db.query<{ a: string }>("select lower(payment_address) as a from payment_intents")).map(
      (r) => r.a,
    ),
  );
  const hot = lower(wallets.hot);
  const gas = lower(wallets.gas);

  // Refunds and collection legs, as the database meant them.
  const refunds = await db.query<{
    from_address: string;
    to_address: string;
    amount: string;
    state: string;
  }>("select from_address, to_address, amount::text, state from refunds");
  const collections = await db.query<{
    from_address: string;
    treasury_address: string;
    fee_address: string;
    amount: string | null;
    fee: string | null;
    state: string;
  }>(
    "select from_address, treasury_address, fee_address, amount::text, fee::text, state from collections",
  );
  for (const r of refunds)
    if (r.state !== "confirmed") problems.push(`refund ${r.from_address}: ${r.state}`);
  for (const c of collections)
    if (c.state !== "confirmed") problems.push(`collection ${c.from_address}: ${c.state}`);
  const refundMoves = refunds.map((r) => ({
    from: lower(r.from_address),
    to: lower(r.to_address),
    amount: units(r.amount),
  }));
  const collectMoves = collections.map((c) => ({
    from: lower(c.from_address),
    to: lower(c.treasury_address),
    amount: units(c.amount),
  }));
  const feeMoves = collections
    .filter((c) => units(c.fee) > 0n)
    .map((c) => ({ from: lower(c.from_address), to: lower(c.fee_address), amount: units(c.fee) }));
  const outOfDeposits = moves.filter((m) => deposits.has(m.from));
  const depositDiff = compareMoves([...refundMoves, ...collectMoves, ...feeMoves], outOfDeposits);
  for (const e of depositDiff.extra)
    problems.push(`token transfer out of a deposit address nobody meant: ${e}`);
  for (const m of depositDiff.missing) problems.push(`token transfer meant but not on chain: ${m}`);

  // Every deposit address ends empty: what came in went out.
  const balance = new Map<string, bigint>();
  for (const m of moves) {
    if (deposits.has(m.to)) balance.set(m.to, (balance.get(m.to) ?? 0n) + m.amount);
    if (deposits.has(m.from)) balance.set(m.from, (balance.get(m.from) ?? 0n) - m.amount);
  }
  for (const [address, left] of balance)
    if (left !== 0n) problems.push(`deposit ${address} holds ${left} base units`);

  // Payouts: each planned one exactly once, nothing else out of the hot wallet.
  const payoutDiff = compareMoves(
    payouts.map((p) => ({ from: hot, to: lower(p.to), amount: p.amount })),
    moves.filter((m) => m.from === hot),
  );
  for (const e of payoutDiff.extra) problems.push(`payout sent more than once or unasked: ${e}`);
  for (const m of payoutDiff.missing) problems.push(`payout never sent: ${m}`);
  const rows = await db.query<{ idempotency_key: string; n: string; ids: string[] }>(
    "select idempotency_key, count(*)::text as n, array_agg(id) as ids from payouts group by idempotency_key",
  );
  const byKey = new Map(rows.map((r) => [r.idempotency_key, r]));
  for (const p of payouts) {
    const row = byKey.get(p.key);
    if (row?.n !== "1") problems.push(`payout ${p.key}: ${row?.n ?? 0} rows`);
    const ids = new Set(p.answers.map((a) => a.id));
    if (p.answers.length < 2)
      problems.push(`payout ${p.key}: ${p.answers.length} answers of 200 (two requests)`);
    if (ids.size > 1) problems.push(`payout ${p.key}: answers named ${[...ids]}`);
    if (row && ids.size === 1 && !row.ids.includes([...ids][0] as string))
      problems.push(`payout ${p.key}: answered id is not the row's`);
    for (const r of p.refusals) problems.push(`payout ${p.key} refused: ${r}`);
  }

  // Every transaction from a gateway wallet, matched to the tx manager's record of it.
  const txRows = await db.query<{
    id: number;
    purpose: string;
    sender: string;
    state: string;
    hashes: string[];
  }>(
    `select t.id, t.purpose, lower(t.sender) as sender, t.state,
            array_append(coalesce(array_agg(lower(a.tx_hash)) filter (where a.tx_hash is not null), '{}'), lower(t.tx_hash)) as hashes
       from chain_txs t left join chain_tx_attempts a on a.chain_tx_id = t.id group by t.id`,
  );
  const rowByHash = new Map<string, (typeof txRows)[number]>();
  for (const r of txRows) for (const h of r.hashes) rowByHash.set(h, r);
  const senders = new Set([gas, hot, ...deposits]);
  const minedPerRow = new Map<number, number>();
  const unknown: string[] = [];
  const topupsOnChain: Move[] = [];
  const numbers = Array.from({ length: Number(head) + 1 }, (_, i) => BigInt(i));
  for (let i = 0; i < numbers.length; i += 16) {
    const blocks = await Promise.all(
      numbers
        .slice(i, i + 16)
        .map((n) => chain.client.getBlock({ blockNumber: n, includeTransactions: true })),
    );
    for (const block of blocks) {
      for (const tx of block.transactions) {
        const from = lower(tx.from);
        if (!senders.has(from)) continue;
        const row = rowByHash.get(lower(tx.hash));
        if (!row) unknown.push(`${tx.hash} from ${from}`);
        else minedPerRow.set(row.id, (minedPerRow.get(row.id) ?? 0) + 1);
        if (from === gas && tx.value > 0n)
          topupsOnChain.push({ from, to: lower(tx.to), amount: tx.value });
      }
    }
  }
  for (const u of unknown)
    problems.push(`a gateway wallet sent a transaction the tx manager has no record of: ${u}`);
  const tally = new Map<string, ChainTally>();
  let duplicates = unknown.length + depositDiff.extra.length + payoutDiff.extra.length;
  for (const r of txRows) {
    const t = tally.get(r.purpose) ?? { purpose: r.purpose, meant: 0, onChain: 0, extra: 0 };
    const mined = minedPerRow.get(r.id) ?? 0;
    t.meant += 1;
    t.onChain += mined;
    if (mined > 1) {
      t.extra += mined - 1;
      duplicates += mined - 1;
      problems.push(`chain tx ${r.id} (${r.purpose}) mined ${mined} times`);
    }
    if (mined === 0) problems.push(`chain tx ${r.id} (${r.purpose}, ${r.state}) is not on chain`);
    if (r.state !== "confirmed") problems.push(`chain tx ${r.id} (${r.purpose}) is ${r.state}`);
    tally.set(r.purpose, t);
  }
  const topups = await db.query<{ deposit_address: string; amount: string }>(
    "select lower(deposit_address) as deposit_address, amount::text from gas_topups",
  );
  const topupDiff = compareMoves(
    topups.map((t) => ({ from: gas, to: t.deposit_address, amount: BigInt(t.amount) })),
    topupsOnChain,
  );
  duplicates += topupDiff.extra.length;
  for (const e of topupDiff.extra)
    problems.push(`gas sent to a deposit address that no top-up meant: ${e}`);
  for (const m of topupDiff.missing) problems.push(`gas top-up meant but not on chain: ${m}`);
  return {
    result: {
      name: "on chain: no duplicate send, nothing missing, deposit addresses empty",
      ok: problems.length === 0,
      problems,
    },
    tally: [...tally.values()].sort((a, b) => a.purpose.localeCompare(b.purpose)),
    duplicates,
  };
}

/** The reorg took the dropped block away: one payment orphaned, the other back in a new block. */
export async function checkReorg(db: ChaosDatabase, reorg: ReorgRecord): Promise<CheckResult> {
  const problems: string[] = [];
  if (reorg.statesBefore.some((s) => s !== "seen")) {
    problems.push(
      `transfers were ${reorg.statesBefore} before the revert, not seen: the reorg came after confirmation`,
    );
  }
  const rows = await db.query<{ tx_hash: string; state: string; block_hash: string }>(
    "select lower(tx_hash) as tx_hash, state, lower(block_hash) as block_hash from transfers where lower(tx_hash) = any($1)",
    [[reorg.remined.toLowerCase(), reorg.dropped.toLowerCase()]],
  );
  const remined = rows.find((r) => r.tx_hash === reorg.remined.toLowerCase());
  const dropped = rows.find((r) => r.tx_hash === reorg.dropped.toLowerCase());
  if (remined?.state !== "confirmed")
    problems.push(`re-mined payment is ${remined?.state ?? "missing"}`);
  if (remined?.block_hash === reorg.droppedBlock.hash.toLowerCase())
    problems.push("re-mined payment still in the dropped block");
  if (dropped?.state !== "orphaned")
    problems.push(`dropped payment is ${dropped?.state ?? "missing"}, expected orphaned`);
  return {
    name: "reorg before confirmation: re-mined counted, dropped orphaned",
    ok: problems.length === 0,
    problems,
  };
}
