import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseHandle } from "../../platform/database/create-database.ts";
import { type LocalChain, startLocalChain } from "../../sandbox/local-chain.ts";
import { freePort } from "../../testing/cli-process.ts";
import { type JsonRpcProxy, startJsonRpcProxy } from "../../testing/json-rpc-proxy.ts";
import { chainOn } from "../../testing/lifecycle-shop.ts";
import { createTestDatabase } from "../../testing/test-database.ts";
import { startTestGateway, type TestGateway } from "../../testing/test-gateway.ts";
import { createTestLogger } from "../../testing/test-logger.ts";
import { type ChainTracker, createChainHealth, newTracker } from "./chain-health.ts";

// /readyz tells whether every chain is followed: a real anvil chain that keeps mining, reached
// through a real HTTP proxy that can stop answering, and the real gateway.

describe("/readyz and a chain whose RPC stops answering", () => {
  let chain: LocalChain;
  let proxy: JsonRpcProxy;
  let gw: TestGateway;
  let hanging = false;
  const held: Array<() => void> = [];

  beforeAll(async () => {
    chain = await startLocalChain({
      port: await freePort(),
      blockTimeSeconds: 0.3,
      log: createTestLogger(),
    });
    proxy = await startJsonRpcProxy({
      target: chain.rpcUrl,
      handler: async (_request, forward) => {
        if (hanging) await new Promise<void>((resolve) => held.push(resolve));
        return forward();
      },
    });
    gw = await startTestGateway({
      env: { READY_STALL_MS: "1500" },
      extraChains: [chainOn({ chain }, "local", { rpcUrls: [proxy.url] })],
    });
  });

  afterAll(async () => {
    hanging = false;
    for (const release of held.splice(0)) release();
    await gw?.close();
    await proxy?.close();
    await chain?.stop();
  });

  const readyz = async () => {
    const res = await fetch(`${gw.url}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("answers 503 naming the chain while it is stalled, 200 again once it moves, and /healthz stays 200", async () => {
    await expect.poll(readyz, { timeout: 60_000, interval: 100 }).toMatchObject({
      status: 200,
      body: { status: "ready", chains: [expect.objectContaining({ chain: "local", ready: true })] },
    });

    hanging = true;
    await expect.poll(readyz, { timeout: 60_000, interval: 100 }).toMatchObject({
      status: 503,
      body: {
        status: "not ready",
        chains: [
          expect.objectContaining({
            chain: "local",
            ready: false,
            problem: "stalled",
            message: expect.stringMatching(/^the chain's node has not answered a poll for \d+ s/),
          }),
        ],
      },
    });
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    // What a load balancer asks of an API process: it serves requests, whatever the chain does.
    const serving = await fetch(`${gw.url}/readyz?exclude=chains`);
    expect([serving.status, await serving.json()]).toEqual([
      200,
      expect.objectContaining({ status: "ready" }),
    ]);
    const unknown = await fetch(`${gw.url}/readyz?exclude=database`);
    expect([unknown.status, await unknown.json()]).toEqual([
      400,
      {
        code: 4000,
        message: 'exclude: "database" is not a check; the one to exclude is chains',
        data: { field: "exclude" },
      },
    ]);
    // A process that runs no watcher for the chain judges it from the database the same way.
    const elsewhere = createChainHealth({ db: gw.database.db, maxLagBlocks: 100, stallMs: 1500 });
    expect(await elsewhere.check(["local"])).toEqual([
      expect.objectContaining({ chain: "local", ready: false, problem: "stalled" }),
    ]);
    expect(gw.watchers?.status()).toEqual([
      expect.objectContaining({ chain: "local", deepReorgs: 0, sincePollMs: expect.any(Number) }),
    ]);
    expect(gw.watchers?.status()[0]?.sincePollMs).toBeGreaterThan(1500);

    hanging = false;
    for (const release of held.splice(0)) release();
    await expect.poll(readyz, { timeout: 60_000, interval: 100 }).toMatchObject({
      status: 200,
      body: { chains: [expect.objectContaining({ chain: "local", ready: true })] },
    });
    expect(gw.watchers?.status()[0]).toMatchObject({ failing: null });
  });
});

describe("chain health judged from chain_status", () => {
  let database: DatabaseHandle;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  const tracker = (fields: Partial<ChainTracker>): ChainTracker => ({
    ...newTracker(Date.now()),
    ...fields,
  });

  it("names a chain no process reports, one behind by more than the lag, one whose processed block stands still while the head moves, and one failing", async () => {
    const health = createChainHealth({ db: database.db, maxLagBlocks: 10, stallMs: 60_000 });
    const now = Date.now();
    await health.publish("fine", tracker({ head: 120n, processed: 115n, polledAt: now }));
    await health.publish("behind", tracker({ head: 500n, processed: 100n, polledAt: now }));
    await health.publish(
      "stuck",
      tracker({ head: 105n, processed: 100n, polledAt: now, progressedAt: now - 120_000 }),
    );
    await health.publish(
      "failing",
      tracker({
        head: 100n,
        processed: 100n,
        polledAt: now - 90_000,
        failingSince: now - 89_000,
        lastError: "connection refused",
      }),
    );
    await health.publish(
      "failing-but-answering",
      tracker({
        head: 130n,
        processed: 100n,
        polledAt: now,
        progressedAt: now - 70_000,
        failingSince: now - 70_000,
        lastError: "eth_getLogs failed on every RPC URL",
      }),
    );
    // Caught up and idle (a quiet dev chain mines nothing) is ready however long ago it moved.
    await health.publish(
      "idle",
      tracker({ head: 7n, processed: 7n, polledAt: now, progressedAt: now - 600_000 }),
    );
    const report = await health.check([
      "fine",
      "behind",
      "stuck",
      "failing",
      "failing-but-answering",
      "idle",
      "unknown",
    ]);
    expect(report).toEqual([
      { chain: "fine", ready: true, head: 120, processed: 115, lag_blocks: 5 },
      expect.objectContaining({
        chain: "behind",
        ready: false,
        problem: "lagging",
        lag_blocks: 400,
        message: "400 blocks behind the node's head (READY_MAX_LAG_BLOCKS is 10)",
      }),
      expect.objectContaining({
        chain: "stuck",
        ready: false,
        problem: "stalled",
        message: expect.stringMatching(
          /^the node's head is at block 105 but the processed block 100 has not moved for 12\d s$/,
        ),
      }),
      expect.objectContaining({
        chain: "failing",
        ready: false,
        problem: "stalled",
        message: expect.stringMatching(
          /^the chain's node has not answered a poll for 9\d s; last error: connection refused$/,
        ),
      }),
      expect.objectContaining({
        chain: "failing-but-answering",
        ready: false,
        problem: "stalled",
        message: expect.stringMatching(
          /has not moved for 7\d s; last error: eth_getLogs failed on every RPC URL$/,
        ),
      }),
      expect.objectContaining({ chain: "idle", ready: true }),
      expect.objectContaining({ chain: "unknown", ready: false, problem: "not_followed" }),
    ]);
  });

  it("keeps counting a chain's reorgs when another process takes the chain over", async () => {
    const health = createChainHealth({ db: database.db, maxLagBlocks: 10, stallMs: 60_000 });
    const stored = async () => {
      const row = await database.db
        .selectFrom("chain_status")
        .select(["reorgs", "deep_reorgs"])
        .where("chain_id", "=", "handover")
        .executeTakeFirstOrThrow();
      return { reorgs: Number(row.reorgs), deep_reorgs: Number(row.deep_reorgs) };
    };
    const first = tracker({ head: 10n, processed: 10n, polledAt: Date.now() });
    first.reorgs = 2;
    first.deepReorgs = 1;
    await health.publish("handover", first);
    // Published every second: the same count again adds nothing.
    await health.publish("handover", first);
    expect(await stored()).toEqual({ reorgs: 2, deep_reorgs: 1 });
    // The first process is killed; the next leader's own count starts at 0.
    const second = tracker({ head: 12n, processed: 12n, polledAt: Date.now() });
    await health.publish("handover", second);
    second.reorgs = 1;
    await health.publish("handover", second);
    expect(await stored()).toEqual({ reorgs: 3, deep_reorgs: 1 });
  });
});
