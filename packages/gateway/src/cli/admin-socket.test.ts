import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CliProcess,
  exitWithin,
  freePort,
  runCli,
  startCli,
  waitForHttp,
} from "../testing/cli-process.ts";
import { createScratchDatabase, type ScratchDatabase } from "../testing/scratch-postgres.ts";
import { TEST_MNEMONIC } from "../testing/test-gateway.ts";

// Admin commands while `stablegate serve` runs. On PGlite (the default here) the gateway holds
// the embedded database and the CLI goes through DATA_DIR/admin.sock; with DATABASE_URL set the
// same commands open PostgreSQL directly. Either way: no downtime, the same output.

const INTENT = "/v1/studio/api/payment/intent";
const embedded = !process.env.DATABASE_URL;

let dir: string;
let seedFile: string;
let database: ScratchDatabase;
const started: CliProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stablegate-admin-"));
  seedFile = join(dir, "seed.txt");
  await writeFile(seedFile, `${TEST_MNEMONIC}\n`, { mode: 0o600 });
  database = await createScratchDatabase();
});

afterAll(async () => {
  for (const proc of started) await proc.kill();
  await database?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function installation(extra: Record<string, string | undefined> = {}) {
  return {
    DATA_DIR: join(dir, "data"),
    DATABASE_URL: database.url,
    LOG_LEVEL: "warn",
    RATES_PROVIDER: "static",
    RATES_TWD_PER_USD: "31",
    ...extra,
  };
}

async function admin(
  args: string[],
  extra: Record<string, string> = {},
): Promise<{ stdout: string; json: any }> {
  const r = await runCli(args, installation(extra));
  expect(r.code, `stablegate ${args.join(" ")}\n${r.stderr}`).toBe(0);
  return { stdout: r.stdout, json: JSON.parse(r.stdout) };
}

async function serve(port: number) {
  const proc = startCli(["serve"], installation({ PORT: String(port), SEED_FILE: seedFile }));
  started.push(proc);
  await waitForHttp(`http://127.0.0.1:${port}/readyz`, proc, 60_000);
  return proc;
}

function preflight(port: number, origin: string) {
  return fetch(`http://127.0.0.1:${port}${INTENT}`, {
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "content-type,x-client-id",
    },
  });
}

describe("admin commands on a running gateway", { timeout: 180_000 }, () => {
  let port: number;
  let gateway: CliProcess;
  let orgId: number;
  let clientId: string;

  it("create an organisation, a client and a key while serve runs", async () => {
    port = await freePort();
    gateway = await serve(port);
    const org = await admin(["org", "create", "--name", "Live"]);
    expect(org.json).toMatchObject({ name: "Live", defaultChainId: "arb" });
    orgId = org.json.id;
    const client = await admin([
      "client",
      "create",
      "--org",
      String(orgId),
      "--name",
      "web",
      "--origin",
      "https://one.example",
    ]);
    clientId = client.json.clientId;
    const key = await admin(["key", "create", "--org", String(orgId)]);
    expect(key.json).toMatchObject({ note: "shown once: store it now" });
    // The running gateway knows the new key at once.
    const res = await fetch(`http://127.0.0.1:${port}${INTENT}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": key.json.api_key },
      body: JSON.stringify({ fiat_amount: "31", fiat_currency: "TWD" }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as any).data).toMatchObject({ org_id: orgId, crypto_amount: "1" });
  });

  it("change an allowed origin with no restart", async () => {
    expect(
      (await preflight(port, "https://two.example")).headers.get("access-control-allow-origin"),
    ).toBeNull();
    await admin(["client", "set-origins", clientId, "https://one.example", "https://two.example"]);
    expect(
      (await preflight(port, "https://two.example")).headers.get("access-control-allow-origin"),
    ).toBe("https://two.example");
    expect(gateway.child.exitCode).toBeNull();
  });

  it("answer a refusal as the CLI does: one line naming the problem, exit code 1", async () => {
    const r = await runCli(
      [
        "client",
        "create",
        "--org",
        String(orgId),
        "--name",
        "bad",
        "--origin",
        "https://x.example/p",
      ],
      installation(),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^stablegate: origin: .*https:\/\/x\.example\/p/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    const missing = await runCli(["org", "set-fee", "999999", "10"], installation());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^stablegate: .*999999/);
    const noLimits = await runCli(["org", "set-limits", String(orgId)], installation());
    expect(noLimits.code).toBe(1);
    expect(noLimits.stderr).toMatch(/^stablegate: give --max-transfer and\/or --daily-cap/);
  });

  it("show the hot wallet: the gateway's seed through the socket, the CLI's own on PostgreSQL", async () => {
    const wallet = await admin(
      ["org", "wallet", String(orgId)],
      embedded ? {} : { SEED_FILE: seedFile },
    );
    expect(wallet.json).toMatchObject({ org_id: orgId });
    expect(wallet.json.hot_wallet_address).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });

  it.runIf(embedded)("keep the socket to its owner (mode 0600)", async () => {
    const mode = (await stat(join(dir, "data", "admin.sock"))).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it("print the same thing as with the gateway stopped", async () => {
    const live = await admin(["client", "list", "--org", String(orgId)]);
    const keys = await admin(["key", "list", "--org", String(orgId)]);
    gateway.signal("SIGTERM");
    expect((await exitWithin(gateway, 15_000)).code).toBe(0);
    expect((await admin(["client", "list", "--org", String(orgId)])).stdout).toBe(live.stdout);
    expect((await admin(["key", "list", "--org", String(orgId)])).stdout).toBe(keys.stdout);
  });

  it("work again after the gateway was killed with -9 and started anew", async () => {
    const first = await serve(port);
    first.signal("SIGKILL");
    await exitWithin(first, 15_000);
    gateway = await serve(port);
    const orgs = await admin(["org", "list"]);
    expect(orgs.json.map((o: { id: number }) => o.id)).toContain(orgId);
    gateway.signal("SIGTERM");
    expect((await exitWithin(gateway, 15_000)).code).toBe(0);
  });
});
