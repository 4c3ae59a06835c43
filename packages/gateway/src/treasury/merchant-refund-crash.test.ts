import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { mnemonicToSeedSync } from "@scure/bip39";
import {
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  erc20Abi,
  getAddress,
  parseEther,
  parseUnits,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { verifyWebhook } from "../../../sdk/src/verify-webhook.ts";
import type { RegisteredChain } from "../chain/chain-registry.ts";
import { createWallets } from "../chain/wallets.ts";
import { type Gateway, startGateway } from "../gateway.ts";
import { loadConfig } from "../platform/config.ts";
import { createDatabase, type DatabaseHandle } from "../platform/database/create-database.ts";
import { type LocalChain, startLocalChain } from "../sandbox/local-chain.ts";
import { startCallbackReceiver } from "../testing/callback-receiver.ts";
import { freePort } from "../testing/cli-process.ts";
import { pgliteTemplate } from "../testing/pglite-template.ts";
import { dropSchema } from "../testing/test-database.ts";
import { createTestTenant, TEST_MNEMONIC, type TestTenant } from "../testing/test-gateway.ts";
import { createTestLogger } from "../testing/test-logger.ts";
import { testTransport } from "../testing/test-transport.ts";

// A merchant refund, of part of a payment or of all of it (no amount), is sent exactly once
// although the gateway sending it is killed with -9 right after signing it, or right after
// broadcasting it: the restarted gateway finds the stored transaction (or the one already on
// chain), a retried request (same Idempotency-Key) returns the same refund, each callback is
// recorded once, and the ledger reconciles with the chain.

const SEED_PASSPHRASE = "merchant-refund-crash";
const WAIT = { timeout: 120_000, interval: 200 };
const child = fileURLToPath(new URL("../testing/gateway-crash-child.ts", import.meta.url));
const units = (amount: string) => parseUnits(amount, 6);
const ENV = {
  PAYMENT_TTL_SECONDS: "600",
  TREASURY_INTERVAL_MS: "100",
  CALLBACK_ALLOWED_NETWORKS: "127.0.0.1/32",
};

let chain: LocalChain;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let local: RegisteredChain;
beforeAll(async () => {
  chain = await startLocalChain({
    port: await freePort(),
    blockTimeSeconds: 0.2,
    log: createTestLogger(),
  });
  local = {
    key: "local",
    evmChainId: chain.evmChainId,
    name: "Anvil",
    tokens: [{ symbol: "USDT", address: chain.tokenAddress, decimals: 6 }],
    rpcUrls: [chain.rpcUrl],
    confirmations: 1,
    pollingIntervalMs: 100,
  };
  receiver = await startCallbackReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await chain?.stop();
});

// Of a payment of 10: 4 (6 stays), or everything (no amount in the request). Each kind is
// killed at one of the two points (a child process and a restart per case is most of this file's
// time): the recovery after the kill does not depend on how the amount was asked for.
const PARTIAL = { name: "partial", request: { amount: "4" }, refunded: "4", left: "6" } as const;
const FULL = { name: "full", request: {}, refunded: "10", left: "0" } as const;
const RUNS = [
  { ...PARTIAL, point: "after-sign" },
  { ...FULL, point: "after-broadcast" },
] as const;

describe("a merchant refund across kill -9", { timeout: 600_000 }, () => {
  for (const { name, request, refunded, left, point } of RUNS) {
    it(`${name}, killed ${point.replace("-", " ")}: sent exactly once`, async () => {
      // A seed per test: each test's database starts deposit indexes again, so a shared seed would
      // give this test's intent the previous test's deposit address.
      const passphrase = `${SEED_PASSPHRASE}-${name}-${point}`;
      const wallets = createWallets(mnemonicToSeedSync(TEST_MNEMONIC, passphrase));
      await createTestClient({
        mode: "anvil",
        chain: anvil,
        transport: testTransport(chain.rpcUrl),
      }).setBalance({ address: wallets.gasWallet().address, value: parseEther("100") });
      const url = process.env.DATABASE_URL;
      const schema = `refund_crash_${randomBytes(4).toString("hex")}`;
      const dir = url ? undefined : await mkdtemp(path.join(tmpdir(), "stablegate-refund-crash-"));
      const open = (): Promise<DatabaseHandle> =>
        createDatabase(url ? { url, schema } : { dataDir: path.join(dir as string, "pglite") });
      // On PGlite the processes open in turn a directory migrated once (from the tests' dump).
      if (dir)
        await (
          await createDatabase({
            dataDir: path.join(dir, "pglite"),
            template: await pgliteTemplate(),
          })
        ).close();
      const inProcess = (database: DatabaseHandle) =>
        startGateway({
          config: loadConfig(ENV, { PORT: 0, HOST: "127.0.0.1", LOG_LEVEL: "silent" }),
          log: createTestLogger(),
          seed: mnemonicToSeedSync(TEST_MNEMONIC, passphrase),
          database,
          extraChains: [local],
          settleIntervalMs: 100,
        });
      const transport = testTransport(chain.rpcUrl);
      const publicClient = createPublicClient({ chain: anvil, transport, pollingInterval: 50 });
      const balance = (address: Address) =>
        publicClient.readContract({
          address: chain.tokenAddress,
          abi: erc20Abi,
          functionName: "balanceOf",
          args: [address],
        });
      let database: DatabaseHandle | undefined;
      let gw: Gateway | undefined;
      try {
        // 1. A shop, a paid intent, in a gateway run in this process.
        database = await open();
        gw = await inProcess(database);
        const shop: TestTenant = await createTestTenant(gw.services.tenancy, { chain: "local" });
        const headers = { "Content-Type": "application/json", "X-STUDIO-API-KEY": shop.apiKey };
        const created = await fetch(`${gw.url}/v1/studio/api/payment/intent`, {
          method: "POST",
          headers,
          body: JSON.stringify({
            fiat_amount: "10",
            fiat_currency: "USD",
            callback_url: receiver.url,
          }),
        });
        const intent = ((await created.json()) as any).data as {
          payment_intent_id: string;
          payment_address: Address;
        };
        const payer = createWalletClient({
          account: privateKeyToAccount(chain.payerPrivateKey),
          chain: anvil,
          transport,
        });
        const paid = await payer.writeContract({
          address: chain.tokenAddress,
          abi: erc20Abi,
          functionName: "transfer",
          args: [intent.payment_address, units("10")],
        });
        await publicClient.waitForTransactionReceipt({ hash: paid });
        const intentUrl = (base: string) =>
          `${base}/v1/studio/api/payment/intent/${intent.payment_intent_id}`;
        await vi.waitFor(async () => {
          const res = await fetch(intentUrl((gw as Gateway).url), { headers });
          const status = ((await res.json()) as any).data.status;
          if (status !== "success") throw new Error(`status ${status}`);
        }, WAIT);
        // Its success callback delivered and recorded first: a gateway stopped mid-delivery hands
        // the event back, and the next process would send it again (at least once, by design).
        await vi.waitFor(async () => {
          const row = await (database as DatabaseHandle).db
            .selectFrom("callback_events")
            .select("state")
            .where("payment_intent_id", "=", intent.payment_intent_id)
            .executeTakeFirst();
          if (row?.state !== "delivered") throw new Error(`success callback ${row?.state}`);
        }, WAIT);
        await gw.stop();
        gw = undefined;
        await database.close();
        database = undefined;
        const payerBefore = await balance(chain.payerAddress);

        // 2. Another process takes the refund and is killed by its transaction manager.
        const proc = spawn(process.execPath, ["--import", "tsx", child], {
          env: {
            ...process.env,
            CHILD_DB_URL: url ?? "",
            CHILD_DB_SCHEMA: schema,
            CHILD_DB_DIR: dir ? path.join(dir, "pglite") : "",
            CHILD_RPC_URL: chain.rpcUrl,
            CHILD_TOKEN: chain.tokenAddress,
            CHILD_EVM_CHAIN_ID: String(chain.evmChainId),
            CHILD_SEED_PASSPHRASE: passphrase,
            CHILD_CRASH_AT: point,
            CHILD_ENV: JSON.stringify(ENV),
          },
          stdio: ["ignore", "pipe", "inherit"],
        });
        const exited = new Promise<NodeJS.Signals | null>((resolve) =>
          proc.on("exit", (_code, signal) => resolve(signal)),
        );
        const childUrl = await new Promise<string>((resolve, reject) => {
          let out = "";
          proc.stdout?.on("data", (chunk: Buffer) => {
            out += chunk.toString();
            const m = out.match(/LISTENING (\S+)/);
            if (m) resolve(m[1] as string);
          });
          exited.then((signal) => reject(new Error(`the child exited (${signal}) before serving`)));
        });
        const first = await fetch(`${intentUrl(childUrl)}/refund`, {
          method: "POST",
          headers: { ...headers, "Idempotency-Key": `crash-${name}-${point}` },
          body: JSON.stringify(request),
        });
        const accepted = ((await first.json()) as any).data as {
          refund_id: string;
          status: string;
          amount: string;
        };
        expect(first.status).toBe(200);
        expect(accepted).toMatchObject({ status: "pending", amount: refunded });
        expect(await exited).toBe("SIGKILL");

        // 3. Restarted: the same request again, then the refund goes out once.
        database = await open();
        const key = `merchant-refund:${accepted.refund_id}`;
        const stored = await database.db
          .selectFrom("chain_txs")
          .select(["state", "tx_hash"])
          .where("idempotency_key", "=", key)
          .executeTakeFirstOrThrow();
        expect(stored.state).toBe("signed");
        gw = await inProcess(database);
        const retried = await fetch(`${intentUrl(gw.url)}/refund`, {
          method: "POST",
          headers: { ...headers, "Idempotency-Key": `crash-${name}-${point}` },
          body: JSON.stringify(request),
        });
        expect(((await retried.json()) as any).data).toMatchObject({
          refund_id: accepted.refund_id,
          amount: refunded,
        });
        const done = await vi.waitFor(async () => {
          const res = await fetch(`${intentUrl((gw as Gateway).url)}/refunds`, { headers });
          const list = ((await res.json()) as any).data;
          if (list.items[0]?.status !== "confirmed") throw new Error(JSON.stringify(list));
          return list;
        }, WAIT);
        expect(done.items).toHaveLength(1);
        expect(done.items[0]).toMatchObject({
          refund_id: accepted.refund_id,
          amount: refunded,
          status: "confirmed",
          tx_hash: stored.tx_hash,
        });
        expect(done.refundable_amount).toBe(left);
        expect(await balance(chain.payerAddress)).toBe(payerBefore + units(refunded));
        expect(await balance(intent.payment_address)).toBe(units(left));
        const out = await publicClient.getContractEvents({
          address: chain.tokenAddress,
          abi: erc20Abi,
          eventName: "Transfer",
          args: { from: intent.payment_address },
          fromBlock: 0n,
        });
        expect(out.map((l) => [l.args.to, l.args.value])).toEqual([
          [getAddress(chain.payerAddress), units(refunded)],
        ]);
        expect(out[0]?.transactionHash).toBe(stored.tx_hash);
        expect(
          await database.db
            .selectFrom("chain_txs")
            .select("id")
            .where("purpose", "=", "refund")
            .execute(),
        ).toHaveLength(1);

        // Each event once (by event_id, as receivers deduplicate), signed, in order.
        const events = await vi.waitFor(() => {
          const seen = new Set<unknown>();
          const got = receiver.received
            .filter((r) => r.body.payment_intent_id === intent.payment_intent_id)
            .filter((r) => !seen.has(r.body.event_id) && seen.add(r.body.event_id))
            .map((r) =>
              verifyWebhook(
                r.rawBody,
                r.headers["x-stablegate-signature"] as string,
                shop.webhookSecret,
              ),
            );
          if (!got.some((c: any) => c.event === "refund.confirmed"))
            throw new Error(`${got.length} callbacks`);
          return got as any[];
        }, WAIT);
        expect(events.map((c) => c.event ?? `status:${c.status}`)).toEqual([
          "status:success",
          "refund.sent",
          "refund.confirmed",
        ]);
        expect(events[2]).toMatchObject({
          received_amount: "10",
          refund: {
            refund_id: accepted.refund_id,
            kind: "merchant",
            amount: refunded,
            tx_hash: stored.tx_hash,
            status: "confirmed",
          },
        });
        // The gateway recorded each event once, whichever process sent the refund.
        const recorded = await database.db
          .selectFrom("callback_events")
          .select("body")
          .where("payment_intent_id", "=", intent.payment_intent_id)
          .orderBy("position")
          .execute();
        expect(recorded.map((r) => JSON.parse(r.body).event_id)).toEqual(
          events.map((c) => c.event_id),
        );
        if (left === "0") {
          // Nothing is left to refund.
          const more = await fetch(`${intentUrl(gw.url)}/refund`, {
            method: "POST",
            headers: { ...headers, "Idempotency-Key": `more-${name}-${point}` },
            body: JSON.stringify({ amount: "0.1" }),
          });
          expect(more.status).toBe(409);
          expect(await more.json()).toMatchObject({
            code: 4070,
            data: { refundable_amount: "0" },
          });
        }

        const report = await vi.waitFor(async () => {
          const r = await (gw as Gateway).services.reconciler.reconcile({
            attempts: 20,
            waitMs: 500,
          });
          if (!r.ok) throw new Error(JSON.stringify(r, null, 2));
          return r;
        }, WAIT);
        expect(
          report.intents.find((i) => i.payment_intent_id === intent.payment_intent_id),
        ).toMatchObject({
          refunded: units(refunded).toString(),
          held: units(left).toString(),
          problems: [],
        });
      } finally {
        await gw?.stop();
        await database?.close();
        if (url) await dropSchema(url, schema);
        if (dir) await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
