import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type Address, createWalletClient, erc20Abi, type Hex, parseAbi, parseUnits } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KNOWN_CHAINS } from "../chain/known-chains.ts";
import { migrations } from "../platform/database/migrations/index.ts";
import { type LocalChain, startLocalChain } from "../sandbox/local-chain.ts";
import {
  type CliProcess,
  freePort,
  runCli,
  startCli,
  waitForHttp,
} from "../testing/cli-process.ts";
import { createScratchDatabase, type ScratchDatabase } from "../testing/scratch-postgres.ts";
import { TEST_MNEMONIC } from "../testing/test-gateway.ts";
import { createTestLogger } from "../testing/test-logger.ts";
import { testTransport } from "../testing/test-transport.ts";

// The production topology, as real processes: two `serve --role api` and two `serve --role
// worker` on one PostgreSQL, paid on anvil. The leader of the chain is killed with -9; the other
// worker takes the chain over and a payment made after the kill is detected. PGlite is one
// process's embedded database (a data directory lock keeps a second one out), so there is no
// second process to elect: this file runs only with DATABASE_URL.

const ARB_USDT = KNOWN_CHAINS.find((c) => c.key === "arb")?.tokens.find((t) => t.symbol === "USDT")
  ?.address as Address;
const mintAbi = parseAbi(["function mint(address to, uint256 value)"]);

interface Node {
  name: string;
  role: "api" | "worker";
  port: number;
  proc: CliProcess;
}

let dir: string;
let database: ScratchDatabase;
let chain: LocalChain;
const nodes: Node[] = [];

describe.skipIf(!process.env.DATABASE_URL)(
  "roles and leadership on PostgreSQL (skipped on PGlite: one process, nobody to take over)",
  { timeout: 240_000 },
  () => {
    let settings: Record<string, string | undefined>;
    let apiKey: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "stablegate-roles-"));
      const seedFile = join(dir, "seed.txt");
      await writeFile(seedFile, `${TEST_MNEMONIC}\n`, { mode: 0o600 });
      database = await createScratchDatabase();
      chain = await startLocalChain({
        port: await freePort(),
        blockTimeSeconds: 0.5,
        log: createTestLogger(),
      });
      await payAsArb(chain);
      settings = {
        DATABASE_URL: database.url,
        DATA_DIR: join(dir, "data"),
        SEED_FILE: seedFile,
        RATES_PROVIDER: "static",
        RATES_TWD_PER_USD: "31",
        RPC_URLS_ARB: chain.rpcUrl,
        CONFIRMATIONS_ARB: "1",
        CHAIN_POLL_MS: "200",
        LOG_LEVEL: "info",
      };
      // All four start at once on an empty database: the migrations must run once.
      const started = (["api", "api", "worker", "worker"] as const).map(async (role, i) => {
        const port = await freePort();
        const proc = startCli(["serve", "--role", role], { ...settings, PORT: String(port) });
        const node = { name: `${role}${i}`, role, port, proc };
        nodes.push(node);
        await waitForHttp(`http://127.0.0.1:${port}/readyz`, proc, 90_000);
        return node;
      });
      await Promise.all(started);
      const org = await admin(["org", "create", "--name", "Roles", "--chain", "arb"]);
      await admin([
        "client",
        "create",
        "--org",
        String(org.id),
        "--name",
        "web",
        "--origin",
        "https://shop.example",
      ]);
      apiKey = (await admin(["key", "create", "--org", String(org.id)])).api_key;
    });

    afterAll(async () => {
      for (const node of nodes) await node.proc.kill();
      await chain?.stop();
      await database?.drop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    async function admin(args: string[]): Promise<any> {
      const r = await runCli(args, settings);
      expect(r.code, `stablegate ${args.join(" ")}\n${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout);
    }

    const byRole = (role: Node["role"]) => nodes.filter((n) => n.role === role);

    async function readiness(node: Node): Promise<{ role: string; leases: string[] }> {
      const res = await fetch(`http://127.0.0.1:${node.port}/readyz`);
      expect(res.status).toBe(200);
      return (await res.json()) as { role: string; leases: string[] };
    }

    async function chainLeader(among: Node[]): Promise<Node | undefined> {
      for (const node of among)
        if ((await readiness(node)).leases.includes("chain:arb")) return node;
      return undefined;
    }

    async function createIntent(node: Node) {
      const res = await fetch(`http://127.0.0.1:${node.port}/v1/studio/api/payment/intent`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": apiKey },
        body: JSON.stringify({ fiat_amount: "3", fiat_currency: "USD" }),
      });
      const body = (await res.json()) as any;
      expect(res.status, JSON.stringify(body)).toBe(200);
      return body.data as {
        payment_intent_id: string;
        payment_address: Address;
        crypto_amount: string;
      };
    }

    async function status(node: Node, id: string): Promise<string> {
      const res = await fetch(`http://127.0.0.1:${node.port}/v1/studio/api/payment/intent/${id}`, {
        headers: { "X-STUDIO-API-KEY": apiKey },
      });
      return ((await res.json()) as any).data.status;
    }

    it("ran the migrations once, though four processes started at once", async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query("select name from kysely_migration order by name");
        expect(rows.map((r) => r.name)).toEqual(Object.keys(migrations));
      } finally {
        await client.end();
      }
    });

    it("serves the API on api processes only, and runs each single job in one worker", async () => {
      const [api] = byRole("api");
      const [worker] = byRole("worker");
      if (!api || !worker) throw new Error("nodes missing");
      for (const node of byRole("api")) {
        // An api process runs no watcher: it judges the chain from what the leader stored.
        expect(await readiness(node)).toEqual({
          status: "ready",
          role: "api",
          leases: [],
          chains: [expect.objectContaining({ chain: "arb", ready: true })],
        });
      }
      // A worker answers health and readiness, and nothing of the API.
      const res = await fetch(`http://127.0.0.1:${worker.port}/v1/studio/api/payment/intents`, {
        headers: { "X-STUDIO-API-KEY": apiKey },
      });
      expect(res.status).toBe(404);
      // Every single job is held by exactly one worker.
      await expect
        .poll(
          async () => {
            const held = (await Promise.all(byRole("worker").map(readiness))).flatMap(
              (r) => r.leases,
            );
            return held.filter((l) => l === "chain:arb" || l === "deadline-settler").sort();
          },
          { timeout: 60_000 },
        )
        .toEqual(["chain:arb", "deadline-settler"]);
    });

    it("takes over within 10 s when the chain's leader is killed with -9, and misses no payment", async () => {
      const [api1, api2] = byRole("api");
      if (!api1 || !api2) throw new Error("nodes missing");
      const before = await createIntent(api1);
      await pay(chain, before.payment_address, before.crypto_amount);
      await expect
        .poll(() => status(api2, before.payment_intent_id), { timeout: 60_000 })
        .toBe("success");

      const leader = await chainLeader(byRole("worker"));
      if (!leader) throw new Error("no worker leads chain:arb");
      const standby = byRole("worker").find((n) => n !== leader) as Node;
      // The standby neither follows the chain nor complains while it waits.
      expect(standby.proc.stdout).not.toMatch(/another process advanced/);
      expect(standby.proc.stdout).not.toMatch(/"msg":"(chain watcher failed|lost a lease)/);

      const intent = await createIntent(api1);
      const killedAt = Date.now();
      await leader.proc.kill();
      // Paid while no one leads the chain.
      await pay(chain, intent.payment_address, intent.crypto_amount);
      let takeoverMs = 0;
      await expect
        .poll(
          async () => {
            const held = (await readiness(standby)).leases.includes("chain:arb");
            if (held) takeoverMs = Date.now() - killedAt;
            return held;
          },
          { timeout: 60_000, interval: 100 },
        )
        .toBe(true);
      await expect
        .poll(() => status(api2, intent.payment_intent_id), { timeout: 60_000 })
        .toBe("success");
      const detectedMs = Date.now() - killedAt;
      console.log(
        `leadership: chain:arb taken over ${takeoverMs} ms after kill -9 of its leader; the payment made after the kill was success through the API ${detectedMs} ms after the kill`,
      );
      expect(takeoverMs).toBeLessThan(10_000);
      // The deadline settler follows at its own pace: it tries the lease once per sweep (5 s).
      await expect
        .poll(async () => (await readiness(standby)).leases, { timeout: 60_000 })
        .toEqual(expect.arrayContaining(["chain:arb", "deadline-settler"]));
    });
  },
);

/** Puts the test token's code at arb's USDT address on anvil and gives the payer some. */
async function payAsArb(local: LocalChain): Promise<void> {
  const transport = testTransport(local.rpcUrl);
  const wallet = createWalletClient({ chain: anvil, transport });
  const code = (await wallet.request({
    method: "eth_getCode",
    params: [local.tokenAddress, "latest"],
  } as never)) as Hex;
  await wallet.request({ method: "anvil_setCode", params: [ARB_USDT, code] } as never);
  // The owner is immutable, in the code: the deployer (anvil's first account) mints.
  const [deployer] = await wallet.getAddresses();
  if (!deployer) throw new Error("anvil has no accounts");
  await wallet.writeContract({
    account: deployer,
    address: ARB_USDT,
    abi: mintAbi,
    functionName: "mint",
    args: [local.payerAddress, parseUnits("1000", 6)],
  });
}

async function pay(local: LocalChain, to: Address, amount: string): Promise<void> {
  await createWalletClient({
    account: privateKeyToAccount(local.payerPrivateKey),
    chain: anvil,
    transport: testTransport(local.rpcUrl),
  }).writeContract({
    address: ARB_USDT,
    abi: erc20Abi,
    functionName: "transfer",
    args: [to, parseUnits(amount, 6)],
  });
}
