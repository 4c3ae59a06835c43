import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { Logger } from "pino";
import { pointCompress } from "tiny-secp256k1";
import { type Address, bytesToHex } from "viem";
import { HDKey, publicKeyToAddress } from "viem/accounts";
import type { Database } from "../platform/database/schema.ts";
import { type DerivationThread, startDerivationThread } from "./derivation-thread.ts";
import { createPublicDerivation, type PublicParent } from "./public-derivation.ts";

export interface DepositAddresses {
  /** The address at m/44'/60'/0'/0/{index}. */
  addressAt(index: number): Address;
}

/**
 * Deposit addresses derived from the operator's seed (BIP-32, m/44'/60'/0'/0/i), the path
 * wallets use, so an operator can recover any deposit address with the seed alone. This is the
 * seam a later strategy (CREATE2 forwarders, EIP-7702) replaces without touching callers.
 */
export function createDepositAddresses(seed: Uint8Array): DepositAddresses & {
  /** What public derivation needs (no private key): handed to the derivation thread. */
  publicKey: PublicParent;
} {
  // Deriving the hardened part once makes each address one non-hardened step.
  const external = HDKey.fromMasterSeed(seed).derive("m/44'/60'/0'/0");
  if (!external.publicKey || !external.chainCode) throw new Error("seed gave no public key");
  const publicKey = { key: external.publicKey, chainCode: external.chainCode };
  const publicStep = createPublicDerivation(publicKey);
  return {
    publicKey,
    addressAt(index) {
      checkIndex(index);
      return publicStep(index) ?? privateStep(external, index);
    },
  };
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** 31) {
    throw new RangeError(`deposit index out of range: ${index}`);
  }
}

function privateStep(external: HDKey, index: number): Address {
  const child = external.deriveChild(index);
  if (!child.publicKey) throw new Error("derived key has no public key");
  return publicKeyToAddress(bytesToHex(pointCompress(child.publicKey, false)));
}

export interface DepositAddressPool {
  /** A deposit index no other create (in any process) gets, with its address. */
  take(): Promise<{ index: number; address: Address }>;
  /** How many addresses its derivation thread has derived so far (a diagnostic). */
  readonly derivedOffThread: number;
  /** Stops the derivation thread, if one runs. */
  close(): Promise<void>;
}

/**
 * Deposit indexes taken from the database sequence a batch at a time, so a create does not
 * spend a round trip on `nextval`, and their addresses derived with them: under sustained load
 * (three batches in a row, each taken within `busyWithinMs` of the one before: over 32 creates
 * a second at the defaults) on a thread of their own, which holds only the public key, so a
 * create spends none of the event loop's time on the curve. An index reserved by
 * a process that stops before using it is an unused address, like one burnt by a failed insert:
 * harmless.
 */
export function createDepositAddressPool(options: {
  db: Kysely<Database>;
  addresses: ReturnType<typeof createDepositAddresses>;
  /** Indexes per reservation (1: one `nextval` per create, as before). */
  batch: number;
  /** Batches taken this soon after the one before, three in a row, start the thread. */
  busyWithinMs?: number;
  log?: Logger;
}): DepositAddressPool {
  const { db, addresses, batch, busyWithinMs = 1000 } = options;
  const ready: Array<{ index: number; address: Address }> = [];
  let refilling: Promise<void> | undefined;
  let lastRefill = Number.NEGATIVE_INFINITY;
  // Batches in a row taken within busyWithinMs of the one before.
  let busyStreak = 0;
  let thread: DerivationThread | undefined;
  // A thread that failed is not started again: the event loop derives, as it does when idle.
  let broken = false;
  let derivedOffThread = 0;

  async function derive(indexes: number[]): Promise<Address[]> {
    const now = performance.now();
    busyStreak = now - lastRefill < busyWithinMs ? busyStreak + 1 : 0;
    lastRefill = now;
    // A thread costs a second or two of CPU to start: worth it for a flood of creates, not for
    // a burst of a few dozen.
    const busy = busyStreak >= 2;
    if (thread?.failure) {
      options.log?.warn(
        { err: thread.failure },
        "derivation thread failed; deriving on the event loop",
      );
      broken = true;
      thread = undefined;
    }
    if (busy && !broken && (thread === undefined || thread.ended)) {
      // Until it has started (a second or two), the batches are derived here.
      thread = startDerivationThread(addresses.publicKey);
      options.log?.debug("creates are busy: deposit addresses derived on their own thread");
    }
    if (thread?.ready) {
      try {
        const derived = await thread.derive(indexes);
        derivedOffThread += indexes.length;
        // The invalid child (odds 2^-127) needs the private key, which only this side holds.
        return indexes.map((index, i) => derived[i] ?? addresses.addressAt(index));
      } catch {
        // Ended under this batch (failed: the next batch says so): derived here instead.
      }
    }
    return indexes.map((index) => addresses.addressAt(index));
  }

  function refill(): Promise<void> {
    refilling ??= sql<{ index: number }>`
      select nextval('deposit_address_index')::int as index from generate_series(1, ${batch})`
      .execute(db)
      .then(async ({ rows }) => {
        const indexes = rows.map((r) => r.index);
        const derived = await derive(indexes);
        indexes.forEach((index, i) => {
          ready.push({ index, address: derived[i] as Address });
        });
      })
      .finally(() => {
        refilling = undefined;
      });
    return refilling;
  }

  return {
    async take() {
      let next = ready.shift();
      while (next === undefined) {
        await refill();
        next = ready.shift();
      }
      // Ahead of need, with half a batch to go: under load the next creates find their address
      // waiting while the next batch is reserved and derived (a round trip and a thread's turn).
      if (ready.length < batch / 2) refill().catch(() => {});
      return next;
    },
    get derivedOffThread() {
      return derivedOffThread;
    },
    async close() {
      await thread?.close();
      thread = undefined;
    },
  };
}
