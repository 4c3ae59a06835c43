/**
 * The block follower alone, without a database: RPC calls per block and the delay from a block
 * being observable to the follower yielding it, at anvil's 1 s blocks. Rows: the follower as it
 * polls (BENCH_POLL_MS), and with new heads pushed over anvil's websocket. The baseline row,
 * measured in the same run, is a plain poll of `latest` every interval (what the follower did
 * before 2026-11-28: one eth_getBlockByNumber("latest") per poll, eth_getLogs per new block).
 *
 *   npm run bench:follower
 *   BENCH_BLOCKS=60 BENCH_POLL_MS=250 npm run bench:follower
 */
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { createPublicClient, http } from "viem";
import { createBlockFollower } from "../packages/gateway/src/chain/follower/create-block-follower.ts";
import { startLocalChain } from "../packages/gateway/src/sandbox/local-chain.ts";
import { freePort } from "../packages/gateway/src/testing/cli-process.ts";
import { startJsonRpcProxy } from "../packages/gateway/src/testing/json-rpc-proxy.ts";
import { envNumber } from "./env-settings.ts";
import { commandLine, fmt, printRunHeader, table } from "./report.ts";

const ENV_KEYS = ["BENCH_BLOCKS", "BENCH_POLL_MS"] as const;
const blocks = envNumber("BENCH_BLOCKS", 30, 5);
const pollMs = envNumber("BENCH_POLL_MS", 250, 10);
const WARMUP_BLOCKS = 5;

const quiet = { info() {}, warn() {}, error() {} };
const chain = await startLocalChain({
  port: await freePort(),
  blockTimeSeconds: 1,
  log: { info() {}, warn() {}, error() {} } as never,
});
const proxy = await startJsonRpcProxy({ target: chain.rpcUrl });
printRunHeader("Stablegate block follower rhythm", commandLine(ENV_KEYS), "none", [
  `chain:       anvil, a block every 1 s, 1 confirmation, ${blocks} blocks per row after ${WARMUP_BLOCKS} of warm-up`,
]);

// When each block number is first observable: eth_blockNumber every 5 ms, straight to anvil.
const seen = new Map<bigint, number>();
let observing = true;
const observer = (async () => {
  const client = createPublicClient({ transport: http(chain.rpcUrl), cacheTime: 0 });
  while (observing) {
    const n = await client.getBlockNumber();
    if (!seen.has(n)) seen.set(n, performance.now());
    await new Promise((r) => setTimeout(r, 5));
  }
})();

interface Row {
  name: string;
  calls: number;
  delays: number[];
}

/** Follows `blocks` blocks with `run`, which calls `onBlock` for each block it reports. */
async function measure(
  name: string,
  run: (onBlock: (n: bigint) => boolean, signal: AbortSignal) => Promise<void>,
): Promise<Row> {
  const ac = new AbortController();
  const delays: number[] = [];
  let count = 0;
  let before = 0;
  await run((n) => {
    const at = performance.now();
    count += 1;
    if (count === WARMUP_BLOCKS) before = proxy.requests.length;
    const s = seen.get(n);
    if (count > WARMUP_BLOCKS && s !== undefined) delays.push(at - s);
    if (count === WARMUP_BLOCKS + blocks) ac.abort();
    return ac.signal.aborted;
  }, ac.signal);
  return { name, calls: proxy.requests.length - before, delays };
}

async function follower(wsUrl: string | undefined) {
  return measure(wsUrl ? "websocket" : `follower, ${pollMs} ms`, async (onBlock, signal) => {
    const f = createBlockFollower({
      chainKey: "anvil",
      rpcUrls: [proxy.url],
      wsUrl,
      tokens: [chain.tokenAddress],
      confirmations: 1,
      pollingIntervalMs: pollMs,
      state: { window: [], finalized: undefined },
      log: quiet,
    });
    for await (const e of f.events(signal))
      if (e.type === "block" && onBlock(e.block.number)) break;
  });
}

/** The baseline: `latest` every interval, the logs of each new block by its hash. */
async function baseline() {
  return measure(`baseline, ${pollMs} ms`, async (onBlock, signal) => {
    const client = createPublicClient({ transport: http(proxy.url), cacheTime: 0 });
    let last: bigint | undefined;
    while (!signal.aborted) {
      const head = await client.getBlock({ blockTag: "latest" });
      for (let n = last === undefined ? head.number : last + 1n; n <= head.number; n++) {
        const b = n === head.number ? head : await client.getBlock({ blockNumber: n });
        await client.getLogs({ blockHash: b.hash, address: chain.tokenAddress });
        if (onBlock(n)) return;
      }
      last = head.number;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  });
}

const rows = [
  await baseline(),
  await follower(undefined),
  await follower(chain.rpcUrl.replace(/^http/, "ws")),
];
observing = false;
await observer;
const base = rows[0] as Row;
const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? Number.NaN;
};
console.log(
  table(
    [
      ["row", "RPC/block", "vs baseline", "delay p50", "p90", "p99", "max"],
      ...rows.map((r) => [
        r.name,
        fmt(r.calls / blocks, 2),
        `${fmt(r.calls / base.calls, 2)}x`,
        fmt(q(r.delays, 0.5)),
        fmt(q(r.delays, 0.9)),
        fmt(q(r.delays, 0.99)),
        fmt(Math.max(...r.delays)),
      ]),
    ],
    1,
  ),
);
console.log(
  "delay: ms from the block number first answered by eth_blockNumber (every 5 ms) to the follower yielding the block",
);
console.log(
  `load average at the end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(", ")}`,
);
await proxy.close();
await chain.stop();
process.exit(0);
