import { secp256k1 } from "@noble/curves/secp256k1";
import { type Address, bytesToHex } from "viem";
import { HDKey, publicKeyToAddress } from "viem/accounts";

export interface DepositAddresses {
  /** The address at m/44'/60'/0'/0/{index}. */
  addressAt(index: number): Address;
}

/**
 * Deposit addresses derived from the operator's seed (BIP-32, m/44'/60'/0'/0/i), the path
 * wallets use, so an operator can recover any deposit address with the seed alone. This is the
 * seam a later strategy (CREATE2 forwarders, EIP-7702) replaces without touching callers.
 */
export function createDepositAddresses(seed: Uint8Array): DepositAddresses {
  // Deriving the hardened part once makes each address one non-hardened step.
  const external = HDKey.fromMasterSeed(seed).derive("m/44'/60'/0'/0");
  return {
    addressAt(index) {
      if (!Number.isInteger(index) || index < 0 || index >= 2 ** 31) {
        throw new RangeError(`deposit index out of range: ${index}`);
      }
      // Derivation already computed the child's (compressed) public key; decompressing it costs
      // far less than recomputing it from the private key, which halves the time per address.
      const child = external.deriveChild(index);
      if (!child.publicKey) throw new Error("derived key has no public key");
      const uncompressed = secp256k1.ProjectivePoint.fromHex(child.publicKey).toRawBytes(false);
      return publicKeyToAddress(bytesToHex(uncompressed));
    },
  };
}
