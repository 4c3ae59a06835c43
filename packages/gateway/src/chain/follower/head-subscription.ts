import { createPublicClient, type Hex, webSocket } from "viem";
import { describeError, redactUrl } from "./rpc-pool.ts";
import type { BlockHeader, FollowerLog } from "./types.ts";

export interface HeadSubscription {
  /** Subscribed, and the socket has not reported an error since. */
  readonly up: boolean;
  close(): void;
}

/**
 * `eth_subscribe("newHeads")` over a websocket: each new header is pushed, so following the
 * chain costs no call for the head. A dropped socket (or a refused subscription) is reported
 * (`onState(false)`, the follower polls meanwhile) and the subscription is made again on a new
 * socket after `retryMs`. viem's own reconnection is off: it gives up after a few attempts and
 * keeps the dead socket cached under the URL.
 */
export function subscribeHeads(parameters: {
  chainKey: string;
  url: string;
  log: FollowerLog;
  retryMs: number;
  timeoutMs: number;
  onHead: (head: BlockHeader) => void;
  onState: (up: boolean) => void;
}): HeadSubscription {
  const { chainKey, url, log } = parameters;
  let closed = false;
  let up = false;
  let retry: NodeJS.Timeout | undefined;
  let current: ReturnType<typeof connectClient> | undefined;

  function connectClient() {
    return createPublicClient({
      transport: webSocket(url, { reconnect: false, retryCount: 0, timeout: parameters.timeoutMs }),
    });
  }

  async function dispose(client: ReturnType<typeof connectClient> | undefined) {
    // Closing evicts the socket from viem's cache, so the next attempt opens a new one.
    await client?.transport
      .getRpcClient()
      .then((rpc) => rpc.close())
      .catch(() => {});
  }

  function fail(client: ReturnType<typeof connectClient>, error: unknown) {
    if (closed || current !== client) return;
    current = undefined;
    if (up) {
      up = false;
      parameters.onState(false);
    }
    log.warn(
      { chainKey, ws: redactUrl(url), error: describeError(error), retryInMs: parameters.retryMs },
      "newHeads subscription lost; polling until it is back",
    );
    void dispose(client);
    retry = setTimeout(connect, parameters.retryMs);
  }

  async function connect() {
    retry = undefined;
    if (closed) return;
    const client = connectClient();
    current = client;
    try {
      await client.transport.subscribe({
        params: ["newHeads"],
        onData(data: { result?: RawHeader }) {
          const h = data.result;
          if (closed || current !== client || h?.hash == null || h.number == null) return;
          parameters.onHead({
            number: BigInt(h.number),
            hash: h.hash,
            parentHash: h.parentHash,
            timestamp: BigInt(h.timestamp),
            logsBloom: h.logsBloom ?? undefined,
            hasTransactions:
              h.transactionsRoot == null
                ? undefined
                : h.transactionsRoot.toLowerCase() !== EMPTY_TRIE_ROOT,
          });
        },
        onError: (error: unknown) => fail(client, error),
      });
      if (closed || current !== client) return void dispose(client);
      up = true;
      log.info({ chainKey, ws: redactUrl(url) }, "following new heads over websocket");
      parameters.onState(true);
    } catch (error) {
      fail(client, error);
    }
  }

  void connect();
  return {
    get up() {
      return up;
    },
    close() {
      closed = true;
      clearTimeout(retry);
      void dispose(current);
      current = undefined;
    },
  };
}

interface RawHeader {
  number: Hex | null;
  hash: Hex | null;
  parentHash: Hex;
  timestamp: Hex;
  logsBloom?: Hex | null;
  transactionsRoot?: Hex | null;
}

/** The root of an empty Merkle-Patricia trie: a block with no transactions has it as its transactionsRoot. */
const EMPTY_TRIE_ROOT = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";
