import { createHmac } from "node:crypto";
import { secp256k1 } from "@noble/curves/secp256k1";
import type { Kysely } from "kysely";
import { sql } from "kysely";
import { pointAdd, pointCompress, pointFromScalar } from "tiny-secp256k1";
import { type Address, bytesToHex } from "viem";
import { HDKey, publicKeyToAddress } from "viem/accounts";
import type { Database } from "../platform/database/schema.ts";

export interface DepositAddresses {
  /** The address at m/44'/60'/0'/0/{index}. */
  addressAt(index: number): Address;
}

const ORDER = secp256k1.CURVE.n;

/**
 * Deposit addresses derived from the operator's seed (BIP-32, m/44'/60'/0'/0/i), the path
 * wallets use, so an operator can recover any deposit address with the seed alone. This is the
 * seam a later strategy (CREATE2 forwarders, EIP-7702) replaces without touching callers.
 */
export function createDepositAddresses(seed: Uint8Array): DepositAddresses {
  // Deriving the hardened part once makes each address one non-hardened step.
  const external = HDKey.fromMasterSeed(seed).derive("m/44'/60'/0'/0");
  if (!external.publicKey || !external.chainCode) throw new Error("seed gave no public key");
  const parentKey = external.publicKey;
  // Uncompressed, so adding to it decompresses nothing.
  const parentPoint = pointCompress(parentKey, false);
  const hmacKey = Buffer.from(external.chainCode);
  const data = Buffer.alloc(37);
  data.set(parentKey);
  return {
    addressAt(index) {
      if (!Number.isInteger(index) || index < 0 || index >= 2 ** 31) {
        throw new RangeError(`deposit index out of range: ${index}`);
      }
      // Only the address is needed, so BIP-32's public derivation (CKDpub) suffices: parent + IL·G,
      // one multiplication of the generator and no point decompression, where deriving the
      // private child and its public key costs two decompressions besides. The arithmetic is
      // libsecp256k1's (tiny-secp256k1, WebAssembly; its generator table): ~0.19 ms where
      // @noble/curves took ~0.6 ms, a third of a create's CPU (docs/benchmarks.md).
      data.writeUInt32BE(index, 33);
      const i = createHmac("sha512", hmacKey).update(data).digest();
      const tweak = i.subarray(0, 32);
      const il = BigInt(`0x${tweak.toString("hex")}`);
      // BIP-32's invalid child (odds about 2^-127): the private derivation throws the same.
      if (il === 0n || il >= ORDER) return privateStep(external, index);
      const tweakPoint = pointFromScalar(tweak, false);
      const child = tweakPoint && pointAdd(parentPoint, tweakPoint, false);
      if (!child) return privateStep(external, index);
      return publicKeyToAddress(bytesToHex(child));
    },
  };
}

function privateStep(external: HDKey, index: number): Address {
  const child = external.deriveChild(index);
  if (!child.publicKey) throw new Error("derived key has no public key");
  return publicKeyToAddress(bytesToHex(pointCompress(child.publicKey, false)));
}

export interface DepositAddressPool {
  /** A deposit index no other create (in any process) gets, with its address. */
  take(): Promise<{ index: number; address: Address }>;
}

/**
 * Deposit indexes taken from the database sequence a batch at a time, so a create does not
 * spend a round trip on `nextval`. An index reserved by a process that stops before using it is
 * an unused address, like one burnt by a failed insert: harmless.
 */
export function createDepositAddressPool(options: {
  db: Kysely<Database>;
  addresses: DepositAddresses;
  /** Indexes per reservation (1: one `nextval` per create, as before). */
  batch: number;
}): DepositAddressPool {
  const { db, addresses, batch } = options;
  const ready: number[] = [];
  let refilling: Promise<void> | undefined;

  function refill(): Promise<void> {
    refilling ??= sql<{ index: number }>`
      select nextval('deposit_address_index')::int as index from generate_series(1, ${batch})`
      .execute(db)
      .then(({ rows }) => {
        for (const r of rows) ready.push(r.index);
      })
      .finally(() => {
        refilling = undefined;
      });
    return refilling;
  }

  return {
    async take() {
      let index = ready.shift();
      while (index === undefined) {
        await refill();
        index = ready.shift();
      }
      // Ahead of need: under load the next creates find their index waiting.
      if (ready.length < batch / 4) refill().catch(() => {});
      return { index, address: addresses.addressAt(index) };
    },
  };
}
