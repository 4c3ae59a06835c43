import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { mnemonicToSeedSync } from "@scure/bip39";
import { sql } from "kysely";
import { pino } from "pino";
import {
  type Address,
  createTestClient,
  encodeFunctionData,
  erc20Abi,
  parseEther,
  parseGwei,
  parseUnits,
} from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, type DatabaseHandle } from "../../platform/database/create-database.ts";
import { createLeases } from "../../platform/lease.ts";
import { type ManualChain, startManualChain } from "../../testing/manual-chain.ts";
import { pgliteTemplate } from "../../testing/pglite-template.ts";
import { createTestDatabase, dropSchema } from "../../testing/test-database.ts";
import { TEST_MNEMONIC } from "../../testing/test-gateway.ts";
import { testTransport } from "../../testing/test-transport.ts";
import { createChainRegistry } from "../chain-registry.ts";
import { createWallets } from "../wallets.ts";
import { createTxManager, type TxManager, TxRejectedError } from "./tx-manager.ts";

// The transaction manager against a hand-mined anvil: each test decides when blocks appear.

let m: ManualChain;
let database: DatabaseHandle;
let tm: TxManager;
const wallets = createWallets(mnemonicToSeedSync(TEST_MNEMONIC));
const sender = wallets.hotWallet(1);
const recipient = () => `0x${randomBytes(20).toString("hex")}` as Address;

const chainsFor = (rpcUrl: string, tokenAddress: Address) =>
  createChainRegistry({
    extraChains: [
      {
        key: "local",
        evmChainId: anvil.id,
        name: "anvil",
        tokens: [{ symbol: "USDT", address: tokenAddress, decimals: 6 }],
        rpcUrls: [rpcUrl],
      },
    ],
  });

// One manager per database, as one process has: a second would wait for the first one's lease.
function manager(
  db: DatabaseHandle,
  options: Partial<Parameters<typeof createTxManager>[0]> = {},
): TxManager {
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  return createTxManager({
    db: db.db,
    chains: chainsFor(m.chain.rpcUrl, m.chain.tokenAddress),
    log,
    leases: createLeases({ db: db.db, log }),
    confirmations: () => 2,
    replaceAfterBlocks: 2,
    ...options,
  });
}

const testClient = () =>
  createTestClient({ mode: "anvil", chain: anvil, transport: testTransport(m.chain.rpcUrl) });

/** Funds `from` and submits a plain transfer of 1 wei through `manager`. */
async function sendOneWei(manager: TxManager, from: PrivateKeyAccount, idempotencyKey: string) {
  await testClient().setBalance({ address: from.address, value: parseEther("100") });
  return manager.submit({
    chainKey: "local",
    from,
    to: recipient(),
    value: 1n,
    gasLimit: 21_000n,
    purpose: "payout",
    idempotencyKey,
  });
}

/** Mines a block and lets the manager take one pass, `n` times. */
async function mineAndTick(tm: TxManager, n = 1) {
  for (let i = 0; i < n; i++) {
    await m.mine();
    await tm.tick("local");
  }
}

beforeAll(async () => {
  m = await startManualChain();
  database = await createTestDatabase();
  tm = manager(database);
  const test = testClient();
  await test.setBalance({ address: sender.address, value: parseEther("100") });
  await test.setBalance({ address: wallets.gasWallet().address, value: parseEther("100") });
});

afterAll(async () => {
  await tm?.stop();
  await database?.close();
  await m?.stop();
});

describe("transaction manager", () => {
  it("sends once per idempotency key and follows the transaction to its confirmations", async () => {
    const to = recipient();
    const request = {
      chainKey: "local",
      from: sender,
      to,
      value: parseEther("1"),
      purpose: "payout" as const,
      idempotencyKey: "once",
    };
    const first = await tm.submit(request);
    const again = await tm.submit(request);
    expect(again).toMatchObject({ id: first.id, txHash: first.txHash, nonce: first.nonce });
    expect(first.state).toBe("broadcast");
    await mineAndTick(tm);
    expect((await tm.get(first.id))?.state).toBe("mined");
    await mineAndTick(tm);
    const done = await tm.get(first.id);
    expect(done).toMatchObject({ state: "confirmed", txHash: first.txHash });
    expect(done?.gasUsed).toBe(21_000n);
    expect(await m.publicClient.getBalance({ address: to })).toBe(parseEther("1"));
    expect(
      await m.publicClient.getTransactionCount({ address: sender.address, blockTag: "pending" }),
    ).toBe(first.nonce + 1);
  });

  it("estimates twice the base fee plus the node's tip, under the operator's cap", async () => {
    const request = {
      chainKey: "local",
      from: sender.address,
      to: recipient(),
      value: 1n,
    };
    const [estimate, block, tip] = await Promise.all([
      tm.estimate(request),
      m.publicClient.getBlock(),
      m.publicClient.estimateMaxPriorityFeePerGas(),
    ]);
    const maxFee = (block.baseFeePerGas ?? 0n) * 2n + tip;
    expect(estimate).toEqual({
      // anvil's 21000, plus the 20 % margin.
      gasLimit: 25_200n,
      maxFeePerGas: maxFee,
      maxPriorityFeePerGas: tip,
      maxCost: 25_200n * maxFee,
    });
    const capped = manager(database, { maxFeePerGasCap: maxFee - 1n });
    expect(await capped.estimate(request)).toMatchObject({ maxFeePerGas: maxFee - 1n });
  });

  it("refuses before taking a nonce when the call would revert or cannot be paid", async () => {
    const poor = wallets.hotWallet(99);
    const attempt = tm.submit({
      chainKey: "local",
      from: poor,
      to: m.chain.tokenAddress,
      data: encodeFunctionData({
        abi: erc20Abi,
        functionName: "transfer",
        args: [recipient(), parseUnits("5", 6)],
      }),
      purpose: "payout",
      idempotencyKey: "poor",
    });
    await expect(attempt).rejects.toBeInstanceOf(TxRejectedError);
    expect(await tm.byKey("poor")).toBeUndefined();
  });

  it("signs nothing and takes no nonce when the caller's precondition refuses, and signs once it allows", async () => {
    const from = wallets.hotWallet(8);
    await testClient().setBalance({ address: from.address, value: parseEther("1") });
    const request = {
      chainKey: "local",
      from,
      to: recipient(),
      value: 1n,
      gasLimit: 21_000n,
      purpose: "refund" as const,
      idempotencyKey: "precondition",
    };
    // What a refund a deep reorg stopped meanwhile sees (treasury/refunds.ts).
    const stopped = tm.submit({
      ...request,
      precondition: async () => {
        throw new Error("stopped, not sent");
      },
    });
    await expect(stopped).rejects.toThrow("stopped, not sent");
    expect(await tm.byKey("precondition")).toBeUndefined();
    let checked = false;
    const sent = await tm.submit({
      ...request,
      precondition: async (trx) => {
        // It runs inside the signing transaction: what it reads there is locked with it.
        await sql`select 1`.execute(trx);
        checked = true;
      },
    });
    expect(checked).toBe(true);
    // The refused attempt took no nonce: the first transaction from this key has nonce 0.
    expect(sent.nonce).toBe(0);
  });

  it("writes the caller's record in the transaction that stores it: both or neither", async () => {
    // A gas top-up's row once went missing after a kill -9 between the two (the chaos run).
    const from = wallets.hotWallet(7);
    await testClient().setBalance({ address: from.address, value: parseEther("100") });
    const request = {
      chainKey: "local",
      from,
      to: recipient(),
      value: 1n,
      gasLimit: 21_000n,
      purpose: "gas_topup" as const,
      idempotencyKey: "recorded-with",
    };
    const failing = tm.submit({
      ...request,
      recordWith: async () => {
        throw new Error("the record could not be written");
      },
    });
    await expect(failing).rejects.toThrow("the record could not be written");
    expect(await tm.byKey("recorded-with")).toBeUndefined();
    expect(
      await m.publicClient.getTransactionCount({ address: from.address, blockTag: "pending" }),
    ).toBe(0);

    let recorded: { id: number; key: string; senderNonce: string } | undefined;
    const tx = await tm.submit({
      ...request,
      recordWith: async (trx, stored) => {
        // Inside the transaction: the nonce it took is visible there, not yet outside.
        const row = await trx
          .selectFrom("chain_senders")
          .select("next_nonce")
          .where("sender", "=", from.address)
          .executeTakeFirstOrThrow();
        recorded = {
          id: stored.id,
          key: stored.idempotencyKey,
          senderNonce: String(row.next_nonce),
        };
      },
    });
    expect(recorded).toEqual({ id: tx.id, key: "recorded-with", senderNonce: "1" });
    expect(tx.nonce).toBe(0);
  });

  it("gives 50 concurrent submits consecutive nonces, no gaps or duplicates, all confirmed", async () => {
    const from = wallets.hotWallet(2);
    await testClient().setBalance({ address: from.address, value: parseEther("100") });
    const to = recipient();
    const txs = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        tm.submit({
          chainKey: "local",
          from,
          to,
          value: 1000n + BigInt(i),
          gasLimit: 21_000n,
          purpose: "payout",
          idempotencyKey: `fifty-${i}`,
        }),
      ),
    );
    expect(txs.map((t) => t.nonce).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    await mineAndTick(tm, 3);
    const states = await Promise.all(txs.map(async (t) => (await tm.get(t.id))?.state));
    expect(states.every((s) => s === "confirmed")).toBe(true);
    expect(await m.publicClient.getBalance({ address: to })).toBe(
      txs.reduce((sum, t) => sum + t.value, 0n),
    );
    expect(await m.publicClient.getTransactionCount({ address: from.address })).toBe(50);
  });

  it("takes a transaction reorganised out back to waiting, sends the same bytes, and confirms it once", async () => {
    const from = wallets.hotWallet(4);
    await testClient().setBalance({ address: from.address, value: parseEther("100") });
    const to = recipient();
    const tx = await tm.submit({
      chainKey: "local",
      from,
      to,
      value: parseEther("3"),
      gasLimit: 21_000n,
      purpose: "payout",
      idempotencyKey: "reorged",
    });
    await mineAndTick(tm);
    const mined = await tm.get(tx.id);
    expect(mined?.state).toBe("mined");
    // The block holding it is replaced by one without it, before its second confirmation.
    await m.reorg(1);
    await tm.tick("local");
    expect(await tm.get(tx.id)).toMatchObject({ state: "broadcast", blockNumber: null });
    await mineAndTick(tm, 3);
    const done = await tm.get(tx.id);
    expect(done).toMatchObject({ state: "confirmed", txHash: tx.txHash });
    expect(await m.publicClient.getBalance({ address: to })).toBe(parseEther("3"));
  });

  it("a type-4 transaction reorganised out is sent again with its authorization, and the delegation holds once", async () => {
    const from = wallets.hotWallet(5);
    await testClient().setBalance({ address: from.address, value: parseEther("100") });
    // A fresh EOA delegates to the token contract (any code will do): its authorization, signed
    // for this chain and its current nonce, rides in the manager's transaction.
    const delegator = wallets.depositAccount(9000);
    const authorization = await delegator.signAuthorization({
      contractAddress: m.chain.tokenAddress,
      chainId: anvil.id,
      nonce: 0,
    });
    const tx = await tm.submit({
      chainKey: "local",
      from,
      to: recipient(),
      value: 1n,
      authorizationList: [authorization],
      purpose: "sweep_batch",
      idempotencyKey: "type-4-reorged",
    });
    expect((await m.publicClient.getTransaction({ hash: tx.txHash })).type).toBe("eip7702");
    await mineAndTick(tm);
    expect((await tm.get(tx.id))?.state).toBe("mined");
    await m.reorg(1);
    await tm.tick("local");
    expect(await tm.get(tx.id)).toMatchObject({ state: "broadcast", blockNumber: null });
    await mineAndTick(tm, 3);
    expect(await tm.get(tx.id)).toMatchObject({ state: "confirmed", txHash: tx.txHash });
    expect(await m.publicClient.getCode({ address: delegator.address })).toBe(
      `0xef0100${m.chain.tokenAddress.slice(2).toLowerCase()}`,
    );
  });

  it("replaces a stuck type-4 transaction with the same authorizations", async () => {
    const from = wallets.hotWallet(6);
    const test = testClient();
    await test.setBalance({ address: from.address, value: parseEther("100") });
    const delegator = wallets.depositAccount(9001);
    const authorization = await delegator.signAuthorization({
      contractAddress: m.chain.tokenAddress,
      chainId: anvil.id,
      nonce: 0,
    });
    const stuck = await tm.submit({
      chainKey: "local",
      from,
      to: recipient(),
      value: 1n,
      authorizationList: [authorization],
      purpose: "sweep_batch",
      idempotencyKey: "type-4-stuck",
    });
    const high = stuck.maxFeePerGas * 10n + parseGwei("1");
    for (let i = 0; i < 3; i++) {
      await test.setNextBlockBaseFeePerGas({ baseFeePerGas: high });
      await mineAndTick(tm);
    }
    const replaced = await tm.get(stuck.id);
    expect(replaced?.txHash).not.toBe(stuck.txHash);
    const sent = await m.publicClient.getTransaction({ hash: replaced?.txHash as `0x${string}` });
    expect(sent.type).toBe("eip7702");
    const pick = (x: { address: string; chainId: number; nonce: number; r: string; s: string }) => [
      x.address.toLowerCase(),
      x.chainId,
      x.nonce,
      // Numbers: a node drops the leading zeros viem's signature keeps.
      BigInt(x.r),
      BigInt(x.s),
    ];
    expect(sent.authorizationList?.map(pick)).toEqual([pick(authorization)]);
  });

  it("replaces a transaction stuck under a too-low fee, and only the replacement is mined", async () => {
    const from = wallets.hotWallet(3);
    const test = testClient();
    await test.setBalance({ address: from.address, value: parseEther("100") });
    const to = recipient();
    const stuck = await tm.submit({
      chainKey: "local",
      from,
      to,
      value: parseEther("2"),
      gasLimit: 21_000n,
      purpose: "payout",
      idempotencyKey: "stuck",
    });
    // The base fee jumps far above the transaction's max fee and stays there.
    const high = stuck.maxFeePerGas * 10n + parseGwei("1");
    for (let i = 0; i < 3; i++) {
      await test.setNextBlockBaseFeePerGas({ baseFeePerGas: high });
      await mineAndTick(tm);
    }
    const replaced = await tm.get(stuck.id);
    expect(replaced?.txHash).not.toBe(stuck.txHash);
    expect(replaced?.maxFeePerGas).toBeGreaterThan(high);
    for (let i = 0; i < 3; i++) {
      await test.setNextBlockBaseFeePerGas({ baseFeePerGas: high });
      await mineAndTick(tm);
    }
    const done = await tm.get(stuck.id);
    expect(done).toMatchObject({ state: "confirmed", txHash: replaced?.txHash, nonce: 0 });
    const attempts = await database.db
      .selectFrom("chain_tx_attempts")
      .select("tx_hash")
      .where("chain_tx_id", "=", stuck.id)
      .execute();
    expect(attempts.map((a) => a.tx_hash)).toEqual([stuck.txHash, replaced?.txHash]);
    expect(await m.publicClient.getBalance({ address: to })).toBe(parseEther("2"));
    expect(await m.publicClient.getTransactionCount({ address: from.address })).toBe(1);
  });

  it("leaves a chain to the lease holder until the lease runs out, then takes over", async () => {
    let ahead = 0;
    const other = manager(database, { now: () => new Date(Date.now() + ahead) });
    try {
      // submit() works in any process; following the transaction needs the chain's lease.
      const tx = await sendOneWei(other, wallets.hotWallet(5), "leased");
      await tm.tick("local");
      await m.mine();
      await other.tick("local");
      expect((await other.get(tx.id))?.state).toBe("broadcast");
      // The holder died: its lease row runs out (by the database's clock) and is not renewed.
      await database.db
        .updateTable("leases")
        .set({ until: new Date(0) })
        .where("name", "=", "tx-manager:local")
        .execute();
      ahead = 31_000;
      await other.tick("local");
      expect((await other.get(tx.id))?.state).toBe("mined");
      const row = await database.db
        .selectFrom("chain_txs")
        .select("updated_at")
        .where("id", "=", tx.id)
        .executeTakeFirstOrThrow();
      // Written with the manager's clock, not the wall clock.
      expect(new Date(row.updated_at).getTime()).toBeGreaterThan(Date.now() + 20_000);
    } finally {
      await other.stop();
    }
  });

  it("follows transactions on its own once started, and gives up its lease when stopped", async () => {
    const running = manager(database, { pollIntervalMs: () => 50 });
    const leases = () =>
      database.db
        .selectFrom("leases")
        .select("holder")
        .where("name", "=", "tx-manager:local")
        .where("until", ">", new Date());
    // The shared manager's lease would keep this one waiting.
    await tm.stop();
    try {
      const tx = await sendOneWei(running, wallets.hotWallet(6), "worker");
      running.start(["local"]);
      await m.mine();
      await expect.poll(async () => (await running.get(tx.id))?.state).toBe("mined");
      expect(await leases().execute()).toHaveLength(1);
      await m.mine();
      await expect.poll(async () => (await running.get(tx.id))?.state).toBe("confirmed");
    } finally {
      await running.stop();
    }
    expect(await leases().execute()).toEqual([]);
  });
});

// Two processes start and open the database one after the other: minutes on a loaded machine.
describe("a crash while sending", { timeout: 240_000 }, () => {
  const child = fileURLToPath(new URL("../../testing/tx-crash-child.ts", import.meta.url));

  for (const point of ["after-sign", "after-broadcast"] as const) {
    it(`killed ${point.replace("-", " ")}: a restarted manager sends exactly one transaction`, async () => {
      // The child is another process: it needs a database it can open by name.
      const url = process.env.DATABASE_URL;
      const schema = `crash_${randomBytes(4).toString("hex")}`;
      const dir = url ? undefined : await mkdtemp(path.join(tmpdir(), "stablegate-crash-"));
      const open = () =>
        createDatabase(url ? { url, schema } : { dataDir: path.join(dir as string, "pglite") });
      const gas = wallets.gasWallet();
      const nonceBefore = await m.publicClient.getTransactionCount({
        address: gas.address,
        blockTag: "pending",
      });
      const to = recipient();
      try {
        // On PGlite the child opens a directory already migrated (from the tests' dump): the
        // crash is the subject here, not creating a database, which costs seconds of CPU.
        if (dir)
          await (
            await createDatabase({
              dataDir: path.join(dir, "pglite"),
              template: await pgliteTemplate(),
            })
          ).close();
        const exit = await new Promise<NodeJS.Signals | null>((resolve) => {
          const proc = spawn(process.execPath, ["--import", "tsx", child], {
            env: {
              ...process.env,
              CHILD_DB_URL: url ?? "",
              CHILD_DB_SCHEMA: schema,
              CHILD_DB_DIR: dir ? path.join(dir, "pglite") : "",
              CHILD_RPC_URL: m.chain.rpcUrl,
              CHILD_CRASH_AT: point,
              CHILD_TO: to,
            },
            stdio: "inherit",
          });
          proc.on("exit", (_code, signal) => resolve(signal));
        });
        expect(exit).toBe("SIGKILL");
        const pending = await m.publicClient.getTransactionCount({
          address: gas.address,
          blockTag: "pending",
        });
        // Killed before the broadcast: nothing reached the node. After: it did, unrecorded.
        expect(pending).toBe(point === "after-sign" ? nonceBefore : nonceBefore + 1);

        const db = await open();
        const restarted = manager(db);
        try {
          const row = await db.db
            .selectFrom("chain_txs")
            .selectAll()
            .where("idempotency_key", "=", "crash-test")
            .executeTakeFirstOrThrow();
          expect(row.state).toBe("signed");
          // The caller retries its request: the stored transaction comes back, nothing new.
          const retried = await restarted.submit({
            chainKey: "local",
            from: gas,
            to,
            value: parseEther("1"),
            gasLimit: 21_000n,
            purpose: "gas_topup",
            idempotencyKey: "crash-test",
          });
          expect(retried.txHash).toBe(row.tx_hash);
          await restarted.tick("local");
          await mineAndTick(restarted, 3);
          expect((await restarted.get(retried.id))?.state).toBe("confirmed");
          expect(await m.publicClient.getBalance({ address: to })).toBe(parseEther("1"));
          expect(await m.publicClient.getTransactionCount({ address: gas.address })).toBe(
            nonceBefore + 1,
          );
        } finally {
          await restarted.stop();
          await db.close();
        }
      } finally {
        if (url) await dropSchema(url, schema);
        if (dir) await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
