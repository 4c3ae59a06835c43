import { createHmac } from "node:crypto";
import { isPrivate, pointAdd, pointCompress, pointFromScalar } from "tiny-secp256k1";
import { type Address, bytesToHex } from "viem";
import { publicKeyToAddress } from "viem/accounts";

// Its own module, with as few imports as it can: the derivation thread loads it and nothing else.

/** The extended public key at m/44'/60'/0'/0: its compressed point and chain code. */
export interface PublicParent {
  key: Uint8Array;
  chainCode: Uint8Array;
}

/**
 * BIP-32's public derivation (CKDpub) of the child addresses: undefined for the invalid child
 * (odds about 2^-127), which the private derivation then handles.
 */
export function createPublicDerivation(
  parent: PublicParent,
): (index: number) => Address | undefined {
  // Uncompressed, so adding to it decompresses nothing.
  const parentPoint = pointCompress(parent.key, false);
  const hmacKey = Buffer.from(parent.chainCode);
  const data = Buffer.alloc(37);
  data.set(parent.key);
  return (index) => {
    // Only the address is needed, so BIP-32's public derivation (CKDpub) suffices: parent + IL·G,
    // one multiplication of the generator and no point decompression, where deriving the
    // private child and its public key costs two decompressions besides. The arithmetic is
    // libsecp256k1's (tiny-secp256k1, WebAssembly; its generator table): ~0.19 ms where
    // @noble/curves took ~0.6 ms (docs/benchmarks.md).
    data.writeUInt32BE(index, 33);
    const i = createHmac("sha512", hmacKey).update(data).digest();
    const tweak = i.subarray(0, 32);
    // 0 < IL < n, else BIP-32's invalid child.
    if (!isPrivate(tweak)) return undefined;
    const tweakPoint = pointFromScalar(tweak, false);
    const child = tweakPoint && pointAdd(parentPoint, tweakPoint, false);
    return child ? publicKeyToAddress(bytesToHex(child)) : undefined;
  };
}
