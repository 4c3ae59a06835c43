import { type Address, type Hex, hexToBytes, keccak256, toEventSelector } from "viem";
import { TRANSFER_EVENT } from "./get-transfer-logs.ts";
import type { BlockHeader } from "./types.ts";

const TRANSFER_TOPIC = toEventSelector(TRANSFER_EVENT);
const BLOOM_BYTES = 256;

/**
 * Whether a block whose header carries `logsBloom` may hold a Transfer log of one of `tokens`:
 * false only when the bloom proves it does not (a bloom has false positives, never false
 * negatives: every log adds its address and each of its topics). A log the follower's
 * eth_getLogs would return sets both the Transfer topic and its token's address, so a block
 * missing either cannot hold one. A bloom that is absent or not 256 bytes proves nothing.
 *
 * Nor does an empty bloom in a block that holds transactions (or may): it is what a node that
 * does not compute blooms sends (some L2 and archive nodes, some providers' caches), and trusting
 * it would hide every payment from the watcher. A block with no transaction holds no log at all.
 */
export function mayHoldTransfer(
  block: Pick<BlockHeader, "logsBloom" | "hasTransactions">,
  tokens: readonly Address[],
): boolean {
  const { logsBloom } = block;
  if (logsBloom === undefined || logsBloom.length !== 2 + 2 * BLOOM_BYTES) return true;
  const bloom = hexToBytes(logsBloom);
  if (bloom.every((byte) => byte === 0)) return block.hasTransactions !== false;
  return bloomContains(bloom, TRANSFER_TOPIC) && tokens.some((t) => bloomContains(bloom, t));
}

/** The yellow paper's M3:2048: three 11-bit slices of the item's keccak, each a bit to test. */
function bloomContains(bloom: Uint8Array, item: Hex): boolean {
  const hash = hexToBytes(keccak256(item));
  for (const i of [0, 2, 4]) {
    const bit = (((hash[i] as number) << 8) | (hash[i + 1] as number)) & 0x7ff;
    if (((bloom[BLOOM_BYTES - 1 - (bit >> 3)] as number) & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}
