import { BlockNotFoundError, type Hex } from "viem";
import type { RpcPool } from "./rpc-pool.ts";
import type { BlockHeader, BlockRef } from "./types.ts";

export type GetBlockRefParameters =
  | { blockNumber: bigint }
  | { blockHash: Hex }
  | { blockTag: "latest" | "safe" | "finalized" };

/** One block header; undefined when the node does not have that block (yet). */
export async function getBlockRef(
  pool: RpcPool,
  at: GetBlockRefParameters,
  signal?: AbortSignal,
): Promise<BlockRef | undefined> {
  const header = await getBlockHeader(pool, at, signal);
  return header === undefined ? undefined : toBlockRef(header);
}

/** getBlockRef with the header's logsBloom, when the node sends one. */
export async function getBlockHeader(
  pool: RpcPool,
  at: GetBlockRefParameters,
  signal?: AbortSignal,
): Promise<BlockHeader | undefined> {
  try {
    const block = await pool.call(
      "eth_getBlock",
      (client) => client.getBlock({ ...at, includeTransactions: false }),
      { signal },
    );
    if (block.hash === null || block.number === null) {
      throw new Error(`the node returned a pending block for ${describe(at)}`);
    }
    return {
      number: block.number,
      hash: block.hash,
      parentHash: block.parentHash,
      timestamp: block.timestamp,
      logsBloom: block.logsBloom ?? undefined,
      hasTransactions: Array.isArray(block.transactions)
        ? block.transactions.length > 0
        : undefined,
    };
  } catch (error) {
    if (error instanceof BlockNotFoundError) return undefined;
    throw error;
  }
}

/** The header without its bloom: what events and the follower's state carry. */
export function toBlockRef(header: BlockHeader): BlockRef {
  return {
    number: header.number,
    hash: header.hash,
    parentHash: header.parentHash,
    timestamp: header.timestamp,
  };
}

function describe(at: GetBlockRefParameters): string {
  if ("blockNumber" in at) return `block ${at.blockNumber}`;
  if ("blockHash" in at) return `block ${at.blockHash}`;
  return `block tag ${at.blockTag}`;
}
