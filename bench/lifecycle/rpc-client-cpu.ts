import { createPublicClient, type Hex, http } from "viem";
import { TRANSFER_EVENT } from "../../packages/gateway/src/chain/follower/get-transfer-logs.ts";
import type { LocalChain } from "../../packages/gateway/src/sandbox/local-chain.ts";

/** Calls timed per kind, after 20 not timed. */
export const RPC_CALIBRATION_CALLS = 200;

/**
 * Process CPU per JSON-RPC call made the way the follower makes them (a viem public client over
 * http, no retries): a reference for the RPC share of the watcher's CPU per block.
 */
export async function rpcClientCpu(
  chain: LocalChain,
): Promise<{ getBlock: number; getLogs: number }> {
  const client = createPublicClient({
    transport: http(chain.rpcUrl, { timeout: 10_000, retryCount: 0 }),
  });
  const timeCalls = async (fn: () => Promise<unknown>): Promise<number> => {
    for (let i = 0; i < 20; i++) await fn();
    const before = process.cpuUsage();
    for (let i = 0; i < RPC_CALIBRATION_CALLS; i++) await fn();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000 / RPC_CALIBRATION_CALLS;
  };
  const head = await client.getBlock({ blockTag: "latest" });
  const blockHash = head.hash as Hex;
  const getBlock = await timeCalls(() => client.getBlock({ blockTag: "latest" }));
  const getLogs = await timeCalls(() =>
    client.getLogs({ address: [chain.tokenAddress], event: TRANSFER_EVENT, blockHash }),
  );
  return { getBlock, getLogs };
}
