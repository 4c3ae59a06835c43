import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decidePaymentStatus, type LifecycleTransfer } from "./decide.ts";

const deadline = new Date("2026-01-01T00:30:00Z");
const before = new Date(deadline.getTime() - 60_000);
const after = new Date(deadline.getTime() + 60_000);
const intent = { status: "pending" as const, cryptoAmount: 9_230_000n, deadline };
let n = 0;
const t = (amount: bigint, minedAt: Date, confirmed = true): LifecycleTransfer => ({
  txHash: `0x${(++n).toString(16)}`,
  logIndex: 0,
  blockNumber: BigInt(n),
  from: "0xpayer",
  amount,
  minedAt,
  confirmed,
});

describe("decidePaymentStatus", () => {
  it("succeeds on an exact payment, naming the completing transfer", () => {
    const pay = t(9_230_000n, before);
    const d = decidePaymentStatus(intent, [pay], before, 60);
    expect(d).toMatchObject({ status: "success", receivedAmount: 9_230_000n, excessAmount: 0n });
    expect(d.completing).toBe(pay);
  });

  it("adds partial payments; the one that reaches the amount completes", () => {
    const a = t(5_000_000n, before);
    const b = t(4_230_000n, before);
    const d = decidePaymentStatus(intent, [b, a], before, 60);
    expect(d.status).toBe("success");
    expect(d.completing).toBe(b);
  });

  it("records an overpayment as excess", () => {
    const d = decidePaymentStatus(intent, [t(10_000_000n, before)], before, 60);
    expect(d).toMatchObject({ status: "success", excessAmount: 770_000n });
  });

  it("does not credit unconfirmed transfers", () => {
    expect(decidePaymentStatus(intent, [t(9_230_000n, before, false)], before, 60).status).toBe(
      "pending",
    );
  });

  it("expires with nothing received, and is insufficient with too little, after the deadline", () => {
    expect(decidePaymentStatus(intent, [], after, 60).status).toBe("expired");
    const d = decidePaymentStatus(intent, [t(1_000_000n, before)], after, 60);
    expect(d).toMatchObject({ status: "insufficient_not_refunded", receivedAmount: 1_000_000n });
  });

  it("waits through the grace period for an on-time payment still confirming, then credits it", () => {
    const pending = t(9_230_000n, before, false);
    expect(decidePaymentStatus(intent, [pending], after, 120).status).toBe("pending");
    expect(decidePaymentStatus(intent, [{ ...pending, confirmed: true }], after, 120).status).toBe(
      "success",
    );
    const muchLater = new Date(deadline.getTime() + 121_000);
    expect(decidePaymentStatus(intent, [pending], muchLater, 120).status).toBe("expired");
  });

  it("never credits a payment mined after the deadline, and records it as late", () => {
    const d = decidePaymentStatus(intent, [t(9_230_000n, after)], after, 60);
    expect(d).toMatchObject({ status: "expired", receivedAmount: 0n, lateAmount: 9_230_000n });
  });

  it("never moves a settled intent", () => {
    for (const status of ["success", "expired", "insufficient_not_refunded"] as const) {
      const d = decidePaymentStatus({ ...intent, status }, [t(99_000_000n, before)], after, 60);
      expect(d.status).toBe(status);
    }
  });

  it("property: success exactly when confirmed on-time transfers reach the amount", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            amount: fc.bigInt({ min: 1n, max: 10_000_000n }),
            onTime: fc.boolean(),
            confirmed: fc.boolean(),
          }),
          { maxLength: 6 },
        ),
        fc.boolean(),
        (specs, pastDeadline) => {
          const transfers = specs.map((s) => t(s.amount, s.onTime ? before : after, s.confirmed));
          const now = pastDeadline ? new Date(deadline.getTime() + 3_600_000) : before;
          const d = decidePaymentStatus(intent, transfers, now, 60);
          const credited = specs
            .filter((s) => s.onTime && s.confirmed)
            .reduce((sum, s) => sum + s.amount, 0n);
          expect(d.receivedAmount).toBe(credited);
          if (credited >= intent.cryptoAmount) expect(d.status).toBe("success");
          else if (!pastDeadline) expect(d.status).toBe("pending");
          else expect(d.status).toBe(credited === 0n ? "expired" : "insufficient_not_refunded");
        },
      ),
    );
  });
});
