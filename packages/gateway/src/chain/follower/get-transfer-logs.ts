import { type Address, getAddress, type Hex, parseAbiItem } from "viem";
import type { RpcPool } from "./rpc-pool.ts";
import type { FollowerLog, TransferLog } from "./types.ts";

export const TRANSFER_EVENT = parseAbiItem(
  "event Transfer(address indexed from, address indexed to, uint256 value)",
);

/** A Transfer log as read; `blockTimestamp` is undefined when the node does not return it. */
export type RawTransferLog = Omit<TransferLog, "blockTimestamp"> & {
  blockTimestamp: bigint | undefined;
};

export type GetTransferLogsParameters = {
  chainKey: string;
  tokens: readonly Address[];
  log: FollowerLog;
  signal?: AbortSignal | undefined;
} & ({ blockHash: Hex } | { fromBlock: bigint; toBlock: bigint });

/**
 * The watched tokens' Transfer logs in one block or one range: a single eth_getLogs filtered by
 * contract address and the Transfer topic, however many deposit addresses exist. A refused range
 * throws LogRangeRefusedError for the caller to split. Sorted by block, then log index.
 */
export async function getTransferLogs(
  pool: RpcPool,
  parameters: GetTransferLogsParameters,
): Promise<RawTransferLog[]> {
  const { chainKey, tokens, log, signal } = parameters;
  // An empty address list means "every contract" to eth_getLogs, which is the opposite of intended.
  if (tokens.length === 0) return [];
  const address = [...tokens];
  const byBlockHash = "blockHash" in parameters;
  const logs = await pool.call(
    "eth_getLogs",
    (client) =>
      byBlockHash
        ? client.getLogs({ address, event: TRANSFER_EVENT, blockHash: parameters.blockHash })
        : client.getLogs({
            address,
            event: TRANSFER_EVENT,
            fromBlock: parameters.fromBlock,
            toBlock: parameters.toBlock,
          }),
    // A single block cannot be split: a refusal there is the endpoint's problem, so fail over.
    { signal, logRange: !byBlockHash },
  );

  const watched = new Set(tokens.map((t) => t.toLowerCase()));
  const transfers: RawTransferLog[] = [];
  for (const l of logs) {
    // The node filtered by address already; checking again costs nothing and keeps a look-alike
    // token out even if a provider ignores the filter.
    if (l.removed || !watched.has(l.address.toLowerCase())) continue;
    const { from, to, value } = l.args;
    if (
      from === undefined ||
      to === undefined ||
      value === undefined ||
      l.blockHash === null ||
      l.blockNumber === null ||
      l.logIndex === null ||
      l.transactionHash === null
    ) {
      // E.g. a Transfer with a different indexing (ERC-721 style) from a watched address: not a
      // payment we can interpret, but worth knowing about.
      log.warn(
        { chainKey, token: l.address, txHash: l.transactionHash, logIndex: l.logIndex },
        "skipping a Transfer log that does not decode as ERC-20",
      );
      continue;
    }
    const blockTimestamp = (l as { blockTimestamp?: bigint | null }).blockTimestamp;
    transfers.push({
      txHash: l.transactionHash,
      logIndex: l.logIndex,
      token: getAddress(l.address),
      from,
      to,
      value,
      blockNumber: l.blockNumber,
      blockHash: l.blockHash,
      blockTimestamp: typeof blockTimestamp === "bigint" ? blockTimestamp : undefined,
    });
  }
  transfers.sort((a, b) =>
    a.blockNumber === b.blockNumber
      ? a.logIndex - b.logIndex
      : a.blockNumber < b.blockNumber
        ? -1
        : 1,
  );
  return transfers;
}
