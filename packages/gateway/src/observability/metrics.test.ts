import { readFileSync } from "node:fs";
import path from "node:path";
import { parser } from "@prometheus-io/lezer-promql";
import { parseEther, parseGwei, toHex } from "viem";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parse as parseYaml } from "yaml";
import { type CallbackReceiver, startCallbackReceiver } from "../testing/callback-receiver.ts";
import { freePort, REPO_ROOT } from "../testing/cli-process.ts";
import { chainOn, followed, type Intent, pay, WAIT } from "../testing/lifecycle-shop.ts";
import { type ManualChain, startManualChain } from "../testing/manual-chain.ts";
import { metricTypes, parseMetrics, type Sample } from "../testing/parse-metrics.ts";
import { startTestGateway, type TestGateway, type TestTenant } from "../testing/test-gateway.ts";

// /metrics on a real gateway after a real payment on anvil: the request histogram by route
// pattern, intents by status, the chain follower's head and the stored processed block, RPC
// calls per URL (with the URL's secret kept out of every label), a callback delivery, the
// wallet balances and the runtime's default series.

const SECRET = "s3cretInfuraKey";
let chain: ManualChain;
let gw: TestGateway;
let tenant: TestTenant;
let receiver: CallbackReceiver;
let deadRpcPort: number;

beforeAll(async () => {
  chain = await startManualChain();
  receiver = await startCallbackReceiver();
  deadRpcPort = await freePort();
  gw = await startTestGateway({
    // A low fee cap, so a transaction priced out by the base fee stays stuck after one replacement.
    env: {
      CALLBACK_ALLOWED_NETWORKS: "127.0.0.0/8",
      TX_REPLACE_AFTER_BLOCKS: "2",
      TX_MAX_FEE_GWEI: "10",
    },
    extraChains: [
      // The first URL refuses every connection and carries a key in its user info, path and query.
      chainOn(chain, "local", {
        rpcUrls: [
          `http://user:${SECRET}@127.0.0.1:${deadRpcPort}/v3/${SECRET}?key=${SECRET}`,
          chain.chain.rpcUrl,
        ],
      }),
      // The same chain followed with 4 confirmations: a reorg of 2 blocks is an ordinary one.
      chainOn(chain, "reorgs", { confirmations: 4 }),
    ],
    settleIntervalMs: 100,
  });
  tenant = await gw.createTenant({ chain: "local" });
});

afterAll(async () => {
  await gw?.close();
  await Promise.allSettled([chain?.stop(), receiver?.close()]);
});

async function scrape(headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}/metrics`, { headers });
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0);
}

describe("/metrics", () => {
  it("describes a paid intent, its callback, the chain and the wallets", async () => {
    const headers = { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey };
    const created = await fetch(`${gw.url}/v1/studio/api/payment/intent`, {
      method: "POST",
      headers,
      body: JSON.stringify({ fiat_amount: "10", fiat_currency: "USD", callback_url: receiver.url }),
    });
    expect(created.status).toBe(200);
    const intent = ((await created.json()) as { data: Intent }).data;
    // Read it by id: the histogram must name the route pattern, not this id.
    const read = await fetch(`${gw.url}/v1/studio/api/payment/intent/${intent.payment_intent_id}`, {
      headers,
    });
    expect(read.status).toBe(200);

    await pay(chain, intent.payment_address, intent.crypto_amount);
    await vi.waitFor(() => {
      expect(receiver.received.map((r) => r.body.status)).toContain("success");
    }, WAIT);
    await followed(gw, "local", chain);
    // Ready once each chain's watcher has reported to chain_status (about once a second).
    await expect.poll(async () => (await fetch(`${gw.url}/readyz`)).status, WAIT).toBe(200);

    // Balances are read in the background and a scrape waits 2 s for them: on a busy machine
    // the first scrape may answer before they arrive (the first RPC URL here is dead); a later
    // one has them.
    let scrapes = 0;
    let first: Awaited<ReturnType<typeof scrape>> | undefined;
    let samples: Sample[] = [];
    await vi.waitFor(async () => {
      first = await scrape();
      scrapes += 1;
      samples = parseMetrics(first.text);
      expect(
        value(samples, "stablegate_wallet_balance", { wallet: "hot", org: String(tenant.orgId) }),
      ).toBeDefined();
    }, WAIT);
    if (!first) throw new Error("no scrape");
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(first.text).not.toContain(SECRET);
    expect(first.text).not.toContain(intent.payment_intent_id);

    const created200 = {
      method: "POST",
      route: "/v1/studio/api/payment/intent",
      status: "200",
    };
    expect(value(samples, "stablegate_http_request_duration_seconds_count", created200)).toBe(1);
    expect(
      value(samples, "stablegate_http_request_duration_seconds_count", {
        method: "GET",
        route: "/v1/studio/api/payment/intent/:id",
        status: "200",
      }),
    ).toBe(1);

    expect(value(samples, "stablegate_payment_intents", { status: "success" })).toBe(1);
    expect(value(samples, "stablegate_payment_intents", { status: "pending" })).toBe(0);

    const local = { chain: "local" };
    const head = value(samples, "stablegate_chain_head_block", local) ?? 0;
    const processed = value(samples, "stablegate_chain_processed_block", local) ?? 0;
    expect(head).toBeGreaterThan(0);
    expect(processed).toBeGreaterThan(0);
    expect(processed).toBeLessThanOrEqual(head);
    expect(value(samples, "stablegate_chain_lag_blocks", local)).toBe(head - processed);
    expect(value(samples, "stablegate_chain_processed_block_timestamp_seconds", local)).toBe(
      Number((await chain.publicClient.getBlock({ blockNumber: BigInt(processed) })).timestamp),
    );
    expect(value(samples, "stablegate_chain_reorgs_total", local)).toBe(0);

    // The dead first URL: counted as calls that failed; the live one answers. Labelled by
    // position and host only.
    const dead = { chain: "local", rpc: "1", host: `127.0.0.1:${deadRpcPort}` };
    expect(value(samples, "stablegate_rpc_errors_total", dead)).toBeGreaterThan(0);
    expect(value(samples, "stablegate_rpc_calls_total", dead)).toBe(
      value(samples, "stablegate_rpc_errors_total", dead),
    );
    const live = { chain: "local", rpc: "2", host: new URL(chain.chain.rpcUrl).host };
    expect(value(samples, "stablegate_rpc_calls_total", live)).toBeGreaterThan(0);

    expect(value(samples, "stablegate_callback_deliveries_total", { result: "delivered" })).toBe(1);
    expect(value(samples, "stablegate_callback_deliveries_total", { result: "failed" })).toBe(0);
    expect(value(samples, "stablegate_callbacks_due")).toBe(0);
    expect(value(samples, "stablegate_callbacks_oldest_due_age_seconds")).toBe(0);
    expect(value(samples, "stablegate_ready")).toBe(1);

    expect(value(samples, "stablegate_outgoing_txs_pending", local) ?? 0).toBeGreaterThanOrEqual(0);
    const hot = { chain: "local", wallet: "hot", org: String(tenant.orgId) };
    expect(value(samples, "stablegate_wallet_balance", { ...hot, token: "native" })).toBe(0);
    expect(value(samples, "stablegate_wallet_balance", { ...hot, token: "USDT" })).toBe(0);
    expect(
      value(samples, "stablegate_wallet_balance", { chain: "local", wallet: "gas", token: "USDT" }),
    ).toBeDefined();

    expect(value(samples, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(value(samples, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);

    // The scrape itself is timed on the next one.
    const second = parseMetrics((await scrape()).text);
    expect(
      value(second, "stablegate_http_request_duration_seconds_count", {
        method: "GET",
        route: "/metrics",
        status: "200",
      }),
    ).toBe(scrapes);
  });

  it("counts a transaction priced out by the base fee: pending, replaced once, then stuck at the cap", async () => {
    const { txManager, wallets } = gw.services;
    const gas = wallets.gasWallet();
    await chain.publicClient.request({
      method: "anvil_setBalance" as never,
      params: [gas.address, toHex(parseEther("10"))] as never,
    });
    const tx = await txManager.submit({
      chainKey: "local",
      from: gas,
      to: "0x000000000000000000000000000000000000dEaD",
      value: 1n,
      gasLimit: 21_000n,
      fees: { maxFeePerGas: parseGwei("2"), maxPriorityFeePerGas: parseGwei("1") },
      purpose: "gas_topup",
      idempotencyKey: "metrics-stuck",
    });
    const series = async () => {
      const samples = parseMetrics((await scrape()).text);
      return {
        pending: value(samples, "stablegate_outgoing_txs_pending", { chain: "local" }),
        stuck: value(samples, "stablegate_outgoing_txs_stuck", { chain: "local" }),
        replaced: value(samples, "stablegate_outgoing_tx_replacements_total", { chain: "local" }),
      };
    };
    expect((await series()).pending).toBe(1);
    // Every block from now on costs 100 gwei of base fee: neither version can be mined. One
    // block at a time, each processed by the watcher, until the gauge shows it (or 40 blocks).
    let seen = await series();
    for (let i = 0; i < 40 && !(seen.stuck === 1 && seen.replaced === 1); i++) {
      await chain.publicClient.request({
        method: "anvil_setNextBlockBaseFeePerGas" as never,
        params: [toHex(parseGwei("100"))] as never,
      });
      await chain.mine();
      await followed(gw, "local", chain);
      seen = await series();
    }
    expect(seen).toEqual({ pending: 1, stuck: 1, replaced: 1 });
    expect((await txManager.get(tx.id))?.state).toBe("broadcast");
  });

  it("counts requests no route matched under the pattern that answered, not their paths", async () => {
    const res = await fetch(`${gw.url}/v1/no/such/route/12345`);
    expect(res.status).toBe(404);
    const text = (await scrape()).text;
    expect(text).not.toContain("12345");
    expect(
      value(parseMetrics(text), "stablegate_http_request_duration_seconds_count", {
        method: "GET",
        route: "/v1/*",
        status: "404",
      }),
    ).toBeGreaterThanOrEqual(1);
  });
});

describe("docs/ops: the alert rules and the dashboard", () => {
  const ops = (file: string) => readFileSync(path.join(REPO_ROOT, "docs", "ops", file), "utf8");
  /**
   * What is wrong with these PromQL expressions: a syntax error (Prometheus's own lezer grammar),
   * or a series no family of a real scrape provides (Prometheus's `up` aside). Grafana's
   * `$__rate_interval` is read as 5m.
   */
  async function problems(exprs: string[]) {
    const types = metricTypes((await scrape()).text);
    const exists = (name: string) => {
      if (name === "up" || types.has(name)) return true;
      const base = name.replace(/_(bucket|count|sum)$/, "");
      return base !== name && ["histogram", "summary"].includes(types.get(base) ?? "");
    };
    const found: string[] = [];
    let selectors = 0;
    for (const raw of exprs) {
      const expr = raw.replaceAll("$__rate_interval", "5m");
      parser.parse(expr).iterate({
        enter(node) {
          if (node.type.isError) found.push(`syntax error at ${node.from} in: ${raw}`);
          if (node.name !== "Identifier" || node.node.parent?.name !== "VectorSelector") return;
          selectors += 1;
          const name = expr.slice(node.from, node.to);
          if (!exists(name)) found.push(`no series ${name} in: ${raw}`);
        },
      });
    }
    expect(selectors).toBeGreaterThan(0);
    return found;
  }

  it("alerts.yml: every rule has an expression on series that exist, and the promised alerts", async () => {
    const doc = parseYaml(ops("alerts.yml")) as {
      groups: { name: string; rules: { alert: string; expr: string; labels: object }[] }[];
    };
    const rules = doc.groups.flatMap((g) => g.rules);
    for (const rule of rules) {
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Stablegate[A-Za-z]+$/);
      expect(rule.expr, rule.alert).toEqual(expect.any(String));
      expect(rule.labels, rule.alert).toHaveProperty("severity");
    }
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        "StablegateChainStalled",
        "StablegateChainLag",
        "StablegateTransactionStuck",
        "StablegateGasWalletLow",
        "StablegateCallbacksLate",
        "StablegateCallbackFailures",
        "StablegateNotReady",
      ]),
    );
    expect(await problems(rules.map((r) => r.expr))).toEqual([]);
  });

  it("grafana-dashboard.json: every panel's query names series that exist", async () => {
    const dashboard = JSON.parse(ops("grafana-dashboard.json")) as {
      panels: { type: string; title: string; targets?: { expr: string }[] }[];
    };
    const panels = dashboard.panels.filter((p) => p.type !== "row");
    expect(panels.length).toBeGreaterThan(10);
    for (const p of panels) expect(p.targets?.length, p.title).toBeGreaterThan(0);
    expect(await problems(panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)))).toEqual([]);
  });
});

describe("METRICS_TOKEN", () => {
  let guarded: TestGateway;
  const token = "a-long-enough-metrics-token";
  beforeAll(async () => {
    guarded = await startTestGateway({ env: { METRICS_TOKEN: token } });
  });
  afterAll(() => guarded?.close());

  it("answers 401 with code 4010 without the bearer token, the series with it", async () => {
    for (const authorization of [undefined, "Bearer wrong", `Basic ${token}`, `Bearer ${token}x`]) {
      const res = await fetch(`${guarded.url}/metrics`, {
        headers: authorization === undefined ? {} : { Authorization: authorization },
      });
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get("www-authenticate"), authorization).toMatch(/^Bearer /);
      expect(await res.json()).toMatchObject({
        code: 4010,
        message: expect.stringMatching(/Bearer/),
      });
    }
    const ok = await fetch(`${guarded.url}/metrics`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("stablegate_payment_intents");
  });
});

// Last: on "local" (1 confirmation) the same reorg is below the final block, and its follower
// waits for an operator.
describe("reorgs", () => {
  it("counts a reorg and the processed blocks it dropped", async () => {
    await chain.mine(3);
    await followed(gw, "reorgs", chain);
    await chain.reorg(2);
    await followed(gw, "reorgs", chain);
    const samples = parseMetrics((await scrape()).text);
    expect(value(samples, "stablegate_chain_reorgs_total", { chain: "reorgs" })).toBe(1);
    expect(value(samples, "stablegate_chain_reorged_blocks_total", { chain: "reorgs" })).toBe(2);
  });
});
