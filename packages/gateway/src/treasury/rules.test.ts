import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DomainError } from "../platform/errors.ts";
import {
  gasTopUpAmount,
  refundsDue,
  splitCollection,
  summariseRefunds,
  type TreasuryTransfer,
  transferKey,
} from "./rules.ts";

const deadline = new Date("2026-11-26T10:00:00Z");
const transfer = (o: Partial<TreasuryTransfer>): TreasuryTransfer => ({
  chainId: "arb",
  txHash: "0xaa",
  logIndex: 0,
  from: "0xpayer",
  amount: 1_000_000n,
  minedAt: new Date(deadline.getTime() - 1000),
  confirmed: true,
  ...o,
});

describe("refundsDue", () => {
  const onTime = transfer({ txHash: "0x01" });
  const late = transfer({ txHash: "0x02", minedAt: new Date(deadline.getTime() + 1000) });
  const atDeadline = transfer({ txHash: "0x03", minedAt: deadline });
  const unconfirmed = transfer({ txHash: "0x04", confirmed: false });

  it("refunds every confirmed on-time transfer of an insufficient payment, and late ones as late", () => {
    const due = refundsDue(
      { status: "insufficient_not_refunded", deadline },
      [onTime, late, atDeadline, unconfirmed],
      new Set(),
    );
    expect(due.map((d) => [d.transfer.txHash, d.kind])).toEqual([
      ["0x01", "insufficient"],
      ["0x02", "late"],
      ["0x03", "insufficient"],
    ]);
  });

  it("refunds only late transfers of a successful or expired intent, never while pending", () => {
    for (const status of ["success", "expired"] as const) {
      expect(
        refundsDue({ status, deadline }, [onTime, late], new Set()).map((d) => d.kind),
      ).toEqual(["late"]);
    }
    expect(refundsDue({ status: "pending", deadline }, [onTime, late], new Set())).toEqual([]);
  });

  it("never decides the same transfer twice", () => {
    const done = new Set([transferKey({ ...late, txHash: late.txHash.toUpperCase() })]);
    expect(refundsDue({ status: "expired", deadline }, [late], done)).toEqual([]);
  });
});

describe("splitCollection", () => {
  it("matches the reference: 2.53 received at 1% is 2.50 aggregated and 0.03 fee", () => {
    expect(splitCollection(2_530_000n, 100, 6, 2)).toEqual({
      aggregated: 2_500_000n,
      fee: 30_000n,
    });
  });

  it("keeps nothing without a fee, even for amounts finer than the quote precision", () => {
    expect(splitCollection(2_531_234n, 0, 6, 2)).toEqual({ aggregated: 2_531_234n, fee: 0n });
  });

  it("never hands out more than was received, and the fee is at least its share", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 18 }),
        fc.integer({ min: 0, max: 18 }),
        (received, bps, decimals, quote) => {
          const { aggregated, fee } = splitCollection(received, bps, decimals, quote);
          expect(aggregated + fee).toBe(received);
          expect(aggregated >= 0n && fee >= 0n).toBe(true);
          expect(fee * 10_000n >= received * BigInt(bps)).toBe(true);
          if (bps > 0) {
            const quantum = 10n ** BigInt(Math.max(0, decimals - Math.min(quote, decimals)));
            expect(aggregated % quantum).toBe(0n);
          }
        },
      ),
    );
  });

  it("refuses a fee outside 0-10000 basis points", () => {
    expect(() => splitCollection(1n, 10_001, 6, 2)).toThrow(DomainError);
    expect(() => splitCollection(1n, 1.5, 6, 2)).toThrow(/basis points/);
  });
});

describe("summariseRefunds", () => {
  it("is complete once every insufficient refund is confirmed; the last one names the hash", () => {
    const r = (
      kind: "insufficient" | "late",
      state: "submitted" | "confirmed",
      txHash: string,
    ) => ({
      kind,
      state,
      txHash,
      amount: 2n,
    });
    const partial = summariseRefunds([
      r("insufficient", "confirmed", "0x1"),
      r("insufficient", "submitted", "0x2"),
    ]);
    expect(partial.insufficient).toEqual({ complete: false, amount: 2n, lastTxHash: "0x1" });
    const whole = summariseRefunds([
      r("insufficient", "confirmed", "0x1"),
      r("late", "confirmed", "0x3"),
      r("insufficient", "confirmed", "0x2"),
    ]);
    expect(whole.insufficient).toEqual({ complete: true, amount: 4n, lastTxHash: "0x2" });
    expect(whole.late).toEqual({ amount: 2n, lastTxHash: "0x3" });
    expect(summariseRefunds([]).insufficient.complete).toBe(false);
  });
});

describe("gasTopUpAmount", () => {
  it("tops up to the gas at the max fee plus headroom, and nothing when covered", () => {
    expect(gasTopUpAmount(0n, 50_000n, 10n, 25)).toBe(625_000n);
    expect(gasTopUpAmount(600_000n, 50_000n, 10n, 25)).toBe(25_000n);
    expect(gasTopUpAmount(700_000n, 50_000n, 10n, 25)).toBe(0n);
  });
});
