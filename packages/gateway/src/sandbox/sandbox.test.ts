import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, erc20Abi, getAddress, parseUnits } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { verifyWebhook } from "../../../sdk/src/verify-webhook.ts";
import { startCallbackReceiver } from "../testing/callback-receiver.ts";
import {
  type CliProcess,
  exitWithin,
  freePort,
  isListening,
  runCli,
  startCli,
} from "../testing/cli-process.ts";
import { createScratchDatabase, type ScratchDatabase } from "../testing/scratch-postgres.ts";
import { testTransport } from "../testing/test-transport.ts";

// `npm start` as a developer meets it: `stablegate dev` in a child process, talked to over HTTP
// and JSON-RPC only. On PostgreSQL (DATABASE_URL set) the child gets a database of its own: the
// sandbox has no schema setting and would otherwise write its tenant and intents into the
// `public` schema of the suite's database, where every run would leave them behind.

const BANNER = /Stablegate sandbox is running[\s\S]*Press Ctrl-C to stop.*\n/;
// A first start creates the database and deploys the token: over a minute on a loaded machine.
const START_TIMEOUT_MS = 120_000;
// "Within a few seconds" for a person at the terminal; a loaded CI machine (two test files and
// a CPU hog on 2 cores) takes far longer to run the shutdown, so the bound only catches a hang.
const STOP_TIMEOUT_MS = 30_000;
const INTENT = "/v1/studio/api/payment/intent";

interface SandboxJson {
  api_base_url: string;
  studio: { url: string; email: string; password: string };
  client_id: string;
  api_key: string;
  origin: string;
  org_id: number;
  treasury_address: string;
  webhook_secret: string;
  payer_private_key: `0x${string}`;
  hot_wallet_address: `0x${string}`;
  chain: {
    chain_id: string;
    evm_chain_id: number;
    rpc_url: string;
    token_address: `0x${string}`;
    token_symbol: string;
    token_decimals: number;
    tokens: { symbol: string; address: string; decimals: number }[];
  };
}

let dataDir: string;
let database: ScratchDatabase;
const started: CliProcess[] = [];

function devProcess(ports: { port: number; anvilPort: number }, dir = dataDir) {
  const proc = startCli(["dev"], {
    DATA_DIR: dir,
    PORT: String(ports.port),
    ANVIL_PORT: String(ports.anvilPort),
    LOG_LEVEL: "warn",
    DATABASE_URL: database.url,
  });
  started.push(proc);
  return proc;
}

async function studioSignIn(f: SandboxJson) {
  const res = await fetch(`${f.api_base_url}/v1/admin/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: f.studio.email, password: f.studio.password }),
  });
  const body = (await res.json()) as any;
  expect(res.status, JSON.stringify(body)).toBe(200);
  // Plain http: the sandbox's cookie is not Secure, or a browser would drop it.
  expect(res.headers.get("set-cookie")).not.toMatch(/Secure/);
  return body.data;
}

async function startDev(ports: { port: number; anvilPort: number }) {
  const proc = devProcess(ports);
  const [banner] = await proc.waitForStdout(BANNER, START_TIMEOUT_MS);
  return { proc, banner: banner ?? "" };
}

async function readSandboxJson(): Promise<SandboxJson> {
  return JSON.parse(await readFile(join(dataDir, "sandbox.json"), "utf8")) as SandboxJson;
}

async function fileMode(file: string): Promise<number> {
  return (await stat(file)).mode & 0o777;
}

/** The request the banner tells a developer to paste: URL, -H headers and -d body. */
function bannerCurl(banner: string) {
  const url = banner.match(/curl -s -X POST (\S+) \\/)?.[1];
  const body = banner.match(/ -d '(.*)'/)?.[1];
  const headers: Record<string, string> = {};
  for (const [, name, value] of banner.matchAll(/-H '([^:']+): ([^']*)'/g)) {
    if (name !== undefined && value !== undefined) headers[name] = value;
  }
  if (url === undefined || body === undefined) throw new Error(`no curl in banner:\n${banner}`);
  return { url, headers, body };
}

async function payerBalance(file: SandboxJson): Promise<bigint> {
  const client = createPublicClient({ chain: anvil, transport: testTransport(file.chain.rpc_url) });
  return client.readContract({
    address: file.chain.token_address,
    abi: erc20Abi,
    functionName: "balanceOf",
    args: [privateKeyToAccount(file.payer_private_key).address],
  });
}

async function getIntent(file: SandboxJson, headers: Record<string, string>, id: string) {
  const res = await fetch(`${file.api_base_url}${INTENT}/${id}`, { headers });
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "stablegate-sandbox-"));
  database = await createScratchDatabase();
});

afterAll(async () => {
  for (const proc of started) await proc.kill();
  await database?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("stablegate dev", { timeout: 240_000 }, () => {
  const first = { port: 0, anvilPort: 0 };
  let run1: { proc: CliProcess; banner: string };
  let file: SandboxJson;
  let intentId: string;

  it("starts, prints the banner and writes sandbox.json with the documented shape", async () => {
    first.port = await freePort();
    first.anvilPort = await freePort();
    run1 = await startDev(first);
    file = await readSandboxJson();

    expect(Object.keys(file).sort()).toEqual(
      [
        "api_base_url",
        "client_id",
        "api_key",
        "origin",
        "org_id",
        "treasury_address",
        "webhook_secret",
        "payer_private_key",
        "hot_wallet_address",
        "studio",
        "chain",
      ].sort(),
    );
    expect(Object.keys(file.chain).sort()).toEqual(
      [
        "chain_id",
        "evm_chain_id",
        "rpc_url",
        "token_address",
        "token_symbol",
        "token_decimals",
        "tokens",
      ].sort(),
    );
    expect(file.api_base_url).toBe(`http://127.0.0.1:${first.port}`);
    expect(file.client_id).toMatch(/^[0-9a-f]{32}$/);
    expect(file.api_key).toEqual(expect.any(String));
    expect(file.api_key.length).toBeGreaterThanOrEqual(20);
    expect(file.origin).toBe(`http://localhost:${first.port}`);
    expect(Number.isInteger(file.org_id)).toBe(true);
    // anvil's account #2: a treasury whose balance any wallet pointed at the sandbox shows.
    expect(file.treasury_address).toBe("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
    expect(file.webhook_secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    expect(file.payer_private_key).toMatch(/^0x[0-9a-f]{64}$/);
    expect(file.chain).toMatchObject({
      chain_id: "local",
      evm_chain_id: 31337,
      rpc_url: `http://127.0.0.1:${first.anvilPort}`,
      token_symbol: "USDT",
      token_decimals: 6,
    });
    expect(getAddress(file.chain.token_address)).toBe(file.chain.token_address);
    // A second test token, USDC, next to the test USDT: the organisation accepts both.
    expect(file.chain.tokens).toEqual([
      { symbol: "USDT", address: file.chain.token_address, decimals: 6 },
      { symbol: "USDC", address: expect.stringMatching(/^0x[0-9a-fA-F]{40}$/), decimals: 6 },
    ]);

    // The file holds an API key and a private key: the owner alone may read it.
    expect(await fileMode(join(dataDir, "sandbox.json"))).toBe(0o600);
    // The banner points at it and shows the same credentials.
    expect(run1.banner).toContain(join(dataDir, "sandbox.json"));
    expect(run1.banner).toContain(file.chain.token_address);
    expect(file.studio).toEqual({
      url: `${file.api_base_url}/studio`,
      email: "admin@sandbox.local",
      password: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    });
    expect(run1.banner).toContain(file.studio.password);
  });

  it("signs the Studio operator in with sandbox.json's password, as owner of the sandbox organisation", async () => {
    const session = await studioSignIn(file);
    expect(session.user).toMatchObject({ email: "admin@sandbox.local", is_operator: true });
    expect(session.memberships).toEqual([
      expect.objectContaining({ org_id: file.org_id, role: "owner" }),
    ]);
  });

  it("keeps the generated seed in DATA_DIR/seed.txt, mode 0600, and never prints it", async () => {
    const seedFile = join(dataDir, "seed.txt");
    expect(await fileMode(seedFile)).toBe(0o600);
    const phrase = (await readFile(seedFile, "utf8")).trim();
    expect(phrase.split(/\s+/)).toHaveLength(12);
    expect(run1.proc.stdout).not.toContain(phrase);
    expect(run1.proc.stderr).not.toContain(phrase);
    expect(JSON.stringify(file)).not.toContain(phrase);
  });

  it("answers the banner's curl with a quote on the local chain", async () => {
    const curl = bannerCurl(run1.banner);
    expect(curl.url).toBe(`${file.api_base_url}${INTENT}`);
    expect(curl.headers).toEqual({
      "Content-Type": "application/json",
      "X-Client-ID": file.client_id,
      Origin: file.origin,
      "X-STUDIO-API-KEY": file.api_key,
    });
    const res = await fetch(curl.url, { method: "POST", headers: curl.headers, body: curl.body });
    const body = (await res.json()) as any;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.code).toBe(0);
    expect(body.data).toMatchObject({
      payment_chain_id: "local",
      token_address: file.chain.token_address,
      symbol: "USDT",
      decimals: 6,
      crypto_amount: "9.23",
      fiat_amount: "300.0",
      fiat_currency: "TWD",
      status: "pending",
      client_id: file.client_id,
      org_id: file.org_id,
      order_data: { order_id: "uid_12345" },
      group_key: "buy_stone_with_usdt",
    });
    intentId = body.data.payment_intent_id;
  });

  it("lets a browser page on the sandbox origin create and read intents without the key", async () => {
    const browser = { "X-Client-ID": file.client_id, Origin: file.origin };
    const res = await fetch(`${file.api_base_url}${INTENT}`, {
      method: "POST",
      headers: { ...browser, "Content-Type": "application/json" },
      // The sandbox client allows any callback host (*), as the React example sends one.
      body: JSON.stringify({
        fiat_amount: "10",
        fiat_currency: "USD",
        callback_url: "https://your-server.com/payment/callback",
      }),
    });
    const body = (await res.json()) as any;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(file.origin);
    expect(body.data).toMatchObject({ payment_chain_id: "local", crypto_amount: "10" });
    const again = await getIntent(file, browser, intentId);
    expect(again.status).toBe(200);
    expect(again.body.data.payment_intent_id).toBe(intentId);
  });

  it("funds the payer with test USDT on the local chain", async () => {
    expect(await payerBalance(file)).toBeGreaterThanOrEqual(parseUnits("1000000", 6));
  });

  it("funds the sandbox organisation's hot wallet, so a transfer works at once", async () => {
    const headers = { "X-STUDIO-API-KEY": file.api_key, "Content-Type": "application/json" };
    const wallet = await fetch(`${file.api_base_url}/v1/studio/api/asset_pro/wallet`, { headers });
    const view = (await wallet.json()) as any;
    expect(view.data.address).toBe(file.hot_wallet_address);
    expect(view.data.chains[0]).toMatchObject({
      chain_id: "local",
      native_balance: "100",
      tokens: [
        { symbol: "USDT", balance: "100000" },
        { symbol: "USDC", balance: "0" },
      ],
    });
    const to = privateKeyToAccount(`0x${"11".repeat(32)}`).address;
    const res = await fetch(`${file.api_base_url}/v1/studio/api/asset_pro/transfer`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        chain_id: "local",
        contract_address: file.chain.token_address,
        amount: "1.5",
        wallet_address: to,
      }),
    });
    const body = (await res.json()) as any;
    expect(body.code, JSON.stringify(body)).toBe(0);
    expect(body.data.id).toMatch(new RegExp(`^${file.org_id}-\\d+-1$`));
  });

  it("watches `dev pay` settle an intent: a part stays pending, the rest makes it a success", async () => {
    const env = { DATA_DIR: dataDir, LOG_LEVEL: "warn" };
    const part = await runCli(["dev", "pay", intentId, "4"], env);
    expect(part.code, part.stderr).toBe(0);
    expect(part.stdout).toMatch(/^sent 4 USDT to 0x[0-9a-fA-F]{40} in 0x[0-9a-f]{64}/);
    const waitFor = (predicate: (data: any) => boolean) =>
      vi.waitFor(
        async () => {
          const { data } = (await getIntent(file, { "X-STUDIO-API-KEY": file.api_key }, intentId))
            .body;
          if (!predicate(data)) throw new Error(`intent not there yet: ${JSON.stringify(data)}`);
          return data;
        },
        { timeout: 60_000, interval: 200 },
      );
    const partial = await waitFor((d) => d.received_amount === "4");
    expect(partial.status).toBe("pending");
    const rest = await runCli(["dev", "pay", intentId, "5.23"], env);
    expect(rest.code, rest.stderr).toBe(0);
    const paid = await waitFor((d) => d.status === "success");
    expect(paid).toMatchObject({
      received_amount: "9.23",
      excess_amount: null,
      payer_address: getAddress(privateKeyToAccount(file.payer_private_key).address),
    });
    expect(paid.payment_tx_hash).toBe(rest.stdout.match(/in (0x[0-9a-f]{64})/)?.[1]);
  });

  it("pays in the test USDC with `dev pay --token USDC`, chosen on the intent first", async () => {
    const res = await fetch(`${file.api_base_url}${INTENT}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": file.api_key },
      body: JSON.stringify({ fiat_amount: "1", fiat_currency: "USD" }),
    });
    const created = ((await res.json()) as any).data;
    expect(created.symbol).toBe("USDT");
    const env = { DATA_DIR: dataDir, LOG_LEVEL: "warn" };
    const paid = await runCli(["dev", "pay", created.payment_intent_id, "--token", "USDC"], env);
    expect(paid.code, paid.stderr).toBe(0);
    expect(paid.stdout).toMatch(/^sent 1 USDC to /);
    await vi.waitFor(
      async () => {
        const { data } = (
          await getIntent(file, { "X-STUDIO-API-KEY": file.api_key }, created.payment_intent_id)
        ).body;
        expect(data).toMatchObject({
          status: "success",
          symbol: "USDC",
          token_address: file.chain.tokens[1]?.address,
          received_amount: "1",
        });
      },
      { timeout: 60_000, interval: 200 },
    );
  });

  it("sends a paid intent's callback to a local receiver, signed with sandbox.json's webhook_secret", async () => {
    const receiver = await startCallbackReceiver();
    try {
      const res = await fetch(`${file.api_base_url}${INTENT}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": file.api_key },
        body: JSON.stringify({
          fiat_amount: "1",
          fiat_currency: "USD",
          callback_url: receiver.url,
          order_data: { order_id: "cb-1" },
        }),
      });
      const created = ((await res.json()) as any).data;
      const paid = await runCli(["dev", "pay", created.payment_intent_id], {
        DATA_DIR: dataDir,
        LOG_LEVEL: "warn",
      });
      expect(paid.code, paid.stderr).toBe(0);
      const [call] = await receiver.waitFor(1);
      const payload = verifyWebhook(
        call?.rawBody as string,
        call?.headers["x-stablegate-signature"] as string,
        file.webhook_secret,
      );
      expect(payload).toMatchObject({
        payment_intent_id: created.payment_intent_id,
        status: "success",
        payment_chain_id: "local",
        crypto_amount: "1",
        received_amount: "1",
        payment_tx_hash: paid.stdout.match(/in (0x[0-9a-f]{64})/)?.[1],
        order_data: { order_id: "cb-1" },
      });
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  it("stops on SIGINT with exit code 0 and takes the local chain down with it", async () => {
    expect(await isListening(first.anvilPort)).toBe(true);
    run1.proc.signal("SIGINT");
    const exit = await exitWithin(run1.proc, STOP_TIMEOUT_MS);
    expect(exit.code, exit.stderr).toBe(0);
    expect(await isListening(first.anvilPort)).toBe(false);
    expect(await isListening(first.port)).toBe(false);
  });

  it("restarts from the same DATA_DIR on new ports with the same credentials, token and intents", async () => {
    // New ports: the second start must not depend on the first one's (the origin follows).
    const second = { port: await freePort(), anvilPort: await freePort() };
    const run2 = await startDev(second);
    const again = await readSandboxJson();
    expect(again).toMatchObject({
      client_id: file.client_id,
      api_key: file.api_key,
      org_id: file.org_id,
      webhook_secret: file.webhook_secret,
      payer_private_key: file.payer_private_key,
      studio: { ...file.studio, url: `http://127.0.0.1:${second.port}/studio` },
      api_base_url: `http://127.0.0.1:${second.port}`,
      origin: `http://localhost:${second.port}`,
      chain: { ...file.chain, rpc_url: `http://127.0.0.1:${second.anvilPort}` },
    });

    expect((await studioSignIn(again)).user.email).toBe("admin@sandbox.local");

    const byKey = await getIntent(
      again,
      { "X-Client-ID": again.client_id, "X-STUDIO-API-KEY": again.api_key },
      intentId,
    );
    expect(byKey.status, JSON.stringify(byKey.body)).toBe(200);
    expect(byKey.body.data).toMatchObject({
      payment_intent_id: intentId,
      payment_chain_id: "local",
      crypto_amount: "9.23",
      status: "success",
    });
    // The sandbox page now lives on the new port; its origin must be allowed.
    const byBrowser = await getIntent(
      again,
      { "X-Client-ID": again.client_id, Origin: again.origin },
      intentId,
    );
    expect(byBrowser.status, JSON.stringify(byBrowser.body)).toBe(200);
    // The chain state came back too, not just the token's address: the payment is still spent.
    // (9.23 for the `dev pay` intent, 1 for the callback one.)
    expect(await payerBalance(again)).toBe(
      parseUnits("1000000", 6) - parseUnits("9.23", 6) - parseUnits("1", 6),
    );

    // Ctrl-C in a terminal signals the whole process group, anvil included.
    run2.proc.signal("SIGINT", { group: true });
    const exit = await exitWithin(run2.proc, STOP_TIMEOUT_MS);
    expect(exit.code, exit.stderr).toBe(0);
    expect(await isListening(second.anvilPort)).toBe(false);
    const phrase = (await readFile(join(dataDir, "seed.txt"), "utf8")).trim();
    expect(exit.stdout + exit.stderr).not.toContain(phrase);
  });
});

// A sandbox that did not stop (kill -9, an OOM kill, a closed laptop lid), and a second sandbox
// started beside a running one.
describe("stablegate dev, killed or doubled", { timeout: 300_000 }, () => {
  let ports: { port: number; anvilPort: number };
  let run: CliProcess;

  it("restarts after kill -9 on the same DATA_DIR and ports, and a payment succeeds", async () => {
    ports = { port: await freePort(), anvilPort: await freePort() };
    const killed = await startDev(ports);
    // SIGKILL to the CLI alone: no handler runs, so nothing stops its anvil.
    killed.proc.signal("SIGKILL");
    await exitWithin(killed.proc, STOP_TIMEOUT_MS);
    expect(await isListening(ports.anvilPort)).toBe(true);

    run = (await startDev(ports)).proc;
    const file = await readSandboxJson();
    const res = await fetch(`${file.api_base_url}${INTENT}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": file.api_key },
      body: JSON.stringify({ fiat_amount: "2", fiat_currency: "USD" }),
    });
    const created = ((await res.json()) as any).data;
    expect(created?.payment_intent_id, JSON.stringify(created)).toBeDefined();
    const paid = await runCli(["dev", "pay", created.payment_intent_id], {
      DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
    });
    expect(paid.code, paid.stderr).toBe(0);
    await vi.waitFor(
      async () => {
        const { body } = await getIntent(
          file,
          { "X-STUDIO-API-KEY": file.api_key },
          created.payment_intent_id,
        );
        if (body.data?.status !== "success") throw new Error(`status ${body.data?.status}`);
      },
      { timeout: 60_000, interval: 250 },
    );
  });

  it("refuses a second sandbox on the same DATA_DIR, naming the running one", async () => {
    const other = { port: await freePort(), anvilPort: await freePort() };
    const r = await exitWithin(devProcess(other), START_TIMEOUT_MS);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `DATA_DIR: another sandbox (process ${run.child.pid}) is running on ${dataDir}`,
    );
    expect(await isListening(other.anvilPort)).toBe(false);
  });

  it.runIf(process.env.DATABASE_URL)(
    "refuses a second sandbox on the same DATABASE_URL with another DATA_DIR",
    async () => {
      const other = { port: await freePort(), anvilPort: await freePort() };
      const r = await exitWithin(devProcess(other, join(dataDir, "other")), START_TIMEOUT_MS);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /DATABASE_URL: another sandbox is running on this database \(stablegate sandbox \(pid \d+/,
      );
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(await isListening(other.anvilPort)).toBe(false);
      // The running one is untouched.
      const file = await readSandboxJson();
      expect((await fetch(`${file.api_base_url}/healthz`)).status).toBe(200);
    },
  );

  it("stops on Ctrl-C, and its locks go with it", async () => {
    run.signal("SIGINT", { group: true });
    const exit = await exitWithin(run, STOP_TIMEOUT_MS);
    expect(exit.code, exit.stderr).toBe(0);
    expect(await isListening(ports.anvilPort)).toBe(false);
    expect(existsSync(join(dataDir, "sandbox.lock"))).toBe(false);
    expect(existsSync(join(dataDir, "anvil.pid"))).toBe(false);
  });
});
