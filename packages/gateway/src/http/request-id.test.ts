import { Writable } from "node:stream";
import { mnemonicToSeedSync } from "@scure/bip39";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Gateway, startGateway } from "../gateway.ts";
import { loadConfig } from "../platform/config.ts";
import type { DatabaseHandle } from "../platform/database/create-database.ts";
import { createTestDatabase } from "../testing/test-database.ts";
import { TEST_MNEMONIC } from "../testing/test-gateway.ts";

// Every response carries X-Request-Id, and every line logged while handling the request carries
// the same id as request_id: the caller's own id when it is sane, else a fresh UUID.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const lines: Record<string, unknown>[] = [];
let database: DatabaseHandle;
let gw: Gateway;
let closed = false;

beforeAll(async () => {
  database = await createTestDatabase();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line.trim() !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  gw = await startGateway({
    config: loadConfig({}, { PORT: 0, HOST: "127.0.0.1" }),
    log: pino({ level: "debug" }, sink),
    seed: mnemonicToSeedSync(TEST_MNEMONIC),
    database,
  });
});

afterAll(async () => {
  await gw?.stop();
  if (!closed) await database?.close();
});

/** The line with message `msg` logged for the request whose id is `id`. */
function logged(id: string, msg = "request") {
  return vi.waitFor(
    () => {
      const found = lines.find((l) => l.msg === msg && l.request_id === id);
      if (!found) throw new Error(`no "${msg}" line with request_id ${id}`);
      return found;
    },
    { timeout: 60_000, interval: 20 },
  );
}

describe("request ids", () => {
  it("keeps a sane X-Request-Id, answers with it and logs with it", async () => {
    const id = "abc-DEF_123=";
    const res = await fetch(`${gw.url}/healthz`, { headers: { "X-Request-Id": id } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe(id);
    expect(await logged(id)).toMatchObject({ path: "/healthz", status: 200 });
  });

  it.each([
    ["spaces", "two words"],
    ["a line break", "a%0d%0aInjected: yes"],
    ["too long", "x".repeat(129)],
    ["quotes", 'x"y'],
  ])("replaces an id with %s by a fresh UUID", async (_what, sent) => {
    const res = await fetch(`${gw.url}/healthz`, { headers: { "X-Request-Id": sent } });
    const id = res.headers.get("x-request-id") ?? "";
    expect(id).toMatch(UUID);
    expect(await logged(id)).toBeDefined();
  });

  it("gives every request without one its own id, on errors too", async () => {
    const a = await fetch(`${gw.url}/v1/studio/api/payment/intent`, { method: "POST" });
    const b = await fetch(`${gw.url}/v1/studio/api/nothing`);
    expect([a.status, b.status]).toEqual([401, 404]);
    const ids = [a, b].map((r) => r.headers.get("x-request-id") ?? "");
    for (const id of ids) expect(id).toMatch(UUID);
    expect(ids[0]).not.toBe(ids[1]);
    expect(await logged(ids[0] as string)).toMatchObject({ status: 401, method: "POST" });
    expect(await logged(ids[1] as string)).toMatchObject({ status: 404 });
  });
});

describe("when the database is gone", () => {
  it("logs the unhandled error with the request id, and /metrics still answers, not ready", async () => {
    closed = true;
    await database.close();
    const res = await fetch(`${gw.url}/v1/studio/api/payment/intents`, {
      headers: { "X-STUDIO-API-KEY": "sk_anything", "X-Request-Id": "db-down-1" },
    });
    expect(res.status).toBe(500);
    expect(res.headers.get("x-request-id")).toBe("db-down-1");
    expect(await logged("db-down-1", "unhandled error")).toMatchObject({ level: 50 });

    const metrics = await fetch(`${gw.url}/metrics`);
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/^stablegate_ready 0$/m);
    expect(text).not.toMatch(/^stablegate_payment_intents\{/m);
  });
});
