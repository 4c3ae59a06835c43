import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type CliProcess,
  exitWithin,
  freePort,
  isListening,
  runCli,
  startCli,
} from "../testing/cli-process.ts";
import { createScratchDatabase, type ScratchDatabase } from "../testing/scratch-postgres.ts";

// A sandbox that did not stop cleanly (kill -9, a closed laptop lid, an OOM kill) and a second
// sandbox started beside a running one: `stablegate dev` in child processes, as in sandbox.test.ts.

const BANNER = /Stablegate sandbox is running[\s\S]*Press Ctrl-C to stop.*\n/;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const INTENT = "/v1/studio/api/payment/intent";

let root: string;
let database: ScratchDatabase;
const started: CliProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stablegate-sandbox-restart-"));
  database = await createScratchDatabase();
});

afterAll(async () => {
  for (const proc of started) await proc.kill();
  await database?.drop();
  if (root) await rm(root, { recursive: true, force: true });
});

function dev(dataDir: string, ports: { port: number; anvilPort: number }) {
  const proc = startCli(["dev"], {
    DATA_DIR: dataDir,
    PORT: String(ports.port),
    ANVIL_PORT: String(ports.anvilPort),
    LOG_LEVEL: "warn",
    DATABASE_URL: database.url,
  });
  started.push(proc);
  return proc;
}

async function sandboxJson(dataDir: string) {
  return JSON.parse(await readFile(join(dataDir, "sandbox.json"), "utf8")) as {
    api_base_url: string;
    api_key: string;
  };
}

describe("a sandbox killed with -9", { timeout: 180_000 }, () => {
  const dataDir = () => join(root, "a");
  let ports: { port: number; anvilPort: number };
  let second: CliProcess;

  it("restarts on the same DATA_DIR and ports, and a payment succeeds", async () => {
    ports = { port: await freePort(), anvilPort: await freePort() };
    const first = dev(dataDir(), ports);
    await first.waitForStdout(BANNER, START_TIMEOUT_MS);
    // SIGKILL to the CLI alone: no handler runs, so nothing stops its anvil.
    first.signal("SIGKILL");
    await exitWithin(first, STOP_TIMEOUT_MS);
    expect(await isListening(ports.anvilPort)).toBe(true);

    second = dev(dataDir(), ports);
    await second.waitForStdout(BANNER, START_TIMEOUT_MS);
    const file = await sandboxJson(dataDir());
    const res = await fetch(`${file.api_base_url}${INTENT}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-STUDIO-API-KEY": file.api_key },
      body: JSON.stringify({ fiat_amount: "2", fiat_currency: "USD" }),
    });
    const created = ((await res.json()) as any).data;
    expect(created?.payment_intent_id, JSON.stringify(created)).toBeDefined();
    const paid = await runCli(["dev", "pay", created.payment_intent_id], {
      DATA_DIR: dataDir(),
      LOG_LEVEL: "warn",
    });
    expect(paid.code, paid.stderr).toBe(0);
    await vi.waitFor(
      async () => {
        const got = await fetch(`${file.api_base_url}${INTENT}/${created.payment_intent_id}`, {
          headers: { "X-STUDIO-API-KEY": file.api_key },
        });
        const status = ((await got.json()) as any).data?.status;
        if (status !== "success") throw new Error(`status ${status}`);
      },
      { timeout: 30_000, interval: 250 },
    );
  });

  it("refuses a second sandbox on the same DATA_DIR, naming the running one", async () => {
    const other = { port: await freePort(), anvilPort: await freePort() };
    const r = await exitWithin(dev(dataDir(), other), START_TIMEOUT_MS);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `DATA_DIR: another sandbox (process ${second.child.pid}) is running on ${dataDir()}`,
    );
    expect(await isListening(other.anvilPort)).toBe(false);
  });

  it.runIf(process.env.DATABASE_URL)(
    "refuses a second sandbox on the same DATABASE_URL with another DATA_DIR",
    async () => {
      const other = { port: await freePort(), anvilPort: await freePort() };
      const r = await exitWithin(dev(join(root, "b"), other), START_TIMEOUT_MS);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /DATABASE_URL: another sandbox is running on this database \(stablegate sandbox \(pid \d+/,
      );
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(await isListening(other.anvilPort)).toBe(false);
      // The running one is untouched: its sandbox.json still answers.
      const file = await sandboxJson(dataDir());
      expect((await fetch(`${file.api_base_url}/healthz`)).status).toBe(200);
    },
  );

  it("stops on Ctrl-C, and the lock goes with it", async () => {
    second.signal("SIGINT", { group: true });
    const exit = await exitWithin(second, STOP_TIMEOUT_MS);
    expect(exit.code, exit.stderr).toBe(0);
    expect(await isListening(ports.anvilPort)).toBe(false);
  });
});
