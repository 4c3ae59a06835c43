import { getAddress } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChainRegistry } from "../chain/chain-registry.ts";
import { validateTransfer } from "../payouts/validate-transfer.ts";
import { ConfigError, loadConfig } from "../platform/config.ts";
import { endPaymentWindow } from "../testing/end-payment-window.ts";
import { startTestGateway, type TestGateway, type TestTenant } from "../testing/test-gateway.ts";

// Accepted assets and the payer's choice of chain and token: KryptoGO's chain aliases, bridged
// USDC.e, operator tokens (TOKENS_<CHAIN>), the organisation's set, create's payment_chain_id and
// symbol, the checkout's asset_options and its POST .../asset. The gateway runs as ROLE=api: the
// chains have RPC URLs (so they may be accepted) but nothing polls them.

const INTENT = "/v1/studio/api/payment/intent";
const USDC_E_ARB = "0xff970a61a04b1ca14834a43f5de4533ebddb5cc8";
const USDC_E_POLYGON = "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174";
const USDT0_BASE = getAddress("0x00000000000000000000000000000000000000b0");
const PAYEE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const cli = { kind: "cli" } as const;

describe("operator tokens (TOKENS_<CHAIN>)", () => {
  it("parses SYMBOL:address:decimals[:priced-as], several per chain", () => {
    const config = loadConfig({
      TOKENS_BASE: `USDT0:${USDT0_BASE}:6:usdt, EURC.x:0x00000000000000000000000000000000000000c1:18:USDC`,
    });
    expect(config.tokens.base).toEqual([
      { symbol: "USDT0", address: USDT0_BASE, decimals: 6, pricedAs: "USDT" },
      {
        symbol: "EURC.x",
        address: getAddress("0x00000000000000000000000000000000000000c1"),
        decimals: 18,
        pricedAs: "USDC",
      },
    ]);
  });

  it.each([
    ["no decimals", `EURC:${USDT0_BASE}`, /TOKENS_BASE: "EURC:0x.*" is not SYMBOL:0xaddress/],
    ["a short address", "EURC:0x1234:6:USDC", /is not SYMBOL:0xaddress/],
    ["an unknown pricing", `EURC:${USDT0_BASE}:6:EUR`, /needs a priced-as of USDT or USDC/],
    ["no pricing for a new symbol", `EURC:${USDT0_BASE}:6`, /needs a priced-as/],
    ["too many decimals", `EURC:${USDT0_BASE}:40:USDC`, /more than 36 decimals/],
  ])("refuses %s at start, naming the setting", (_name, value, message) => {
    expect(() => loadConfig({ TOKENS_BASE: value })).toThrow(ConfigError);
    expect(() => loadConfig({ TOKENS_BASE: value })).toThrow(message);
  });

  it("refuses a token that clashes with a known one of the chain", () => {
    expect(() => loadConfig({ TOKENS_ARB: `USDC.E:${USDT0_BASE}:6:USDC` })).toThrow(
      /TOKENS_ARB: USDC.E .* clashes with USDC.e/,
    );
    expect(() => loadConfig({ TOKENS_ARB: `MINE:${USDC_E_ARB}:6:USDC` })).toThrow(
      /clashes with USDC.e/,
    );
  });
});

describe("the registry", () => {
  const chains = createChainRegistry({
    rpcUrls: { arb: ["http://127.0.0.1:9"], polygon: ["http://127.0.0.1:9"] },
  });

  it("knows KryptoGO's matic as polygon and explains tron", () => {
    expect(chains.get("matic").key).toBe("polygon");
    expect(chains.canonicalKey("matic")).toBe("polygon");
    expect(() => chains.get("tron")).toThrow(/tron is not an EVM chain/);
    expect(() => chains.get("nope")).toThrow(/unknown chain "nope"; known: .*matic/);
  });

  it("has bridged USDC.e on Arbitrum and Polygon, priced as USDC", () => {
    expect(chains.token("arb", "usdc.e")).toMatchObject({ symbol: "USDC.e", pricedAs: "USDC" });
    expect(chains.token("matic", "USDC.e").address).toBe(USDC_E_POLYGON);
  });

  it("adds operator tokens to their chain: the chain watcher follows every token of a chain", () => {
    const withOwn = createChainRegistry({
      extraTokens: loadConfig({ TOKENS_BASE: `USDT0:${USDT0_BASE}:6:USDT` }).tokens,
    });
    expect(withOwn.get("base").tokens.map((t) => t.symbol)).toEqual(["USDT", "USDC", "USDT0"]);
    expect(chains.get("arb").tokens.map((t) => t.symbol)).toEqual(["USDT", "USDC", "USDC.e"]);
    // The built-in list is not changed for other registries.
    expect(chains.get("base").tokens.map((t) => t.symbol)).toEqual(["USDT", "USDC"]);
  });

  it("validates the seed's transfer sample (USDC.e on arb) and matic", () => {
    const sample = validateTransfer(chains, {
      chain_id: "arb",
      contract_address: USDC_E_ARB,
      amount: "0.01",
      wallet_address: PAYEE,
    });
    expect(sample).toMatchObject({ amount: 10_000n, token: { symbol: "USDC.e", decimals: 6 } });
    expect(sample.chain.key).toBe("arb");
    const matic = validateTransfer(chains, {
      chain_id: "matic",
      contract_address: USDC_E_POLYGON.toLowerCase(),
      amount: "1",
      wallet_address: PAYEE,
    });
    expect(matic.chain.key).toBe("polygon");
    expect(matic.token.symbol).toBe("USDC.e");
  });
});

describe("an organisation's accepted assets, create and the payer's choice", () => {
  let g: TestGateway;
  let shop: TestTenant;

  beforeAll(async () => {
    g = await startTestGateway({
      env: {
        ROLE: "api",
        RPC_URLS_ARB: "http://127.0.0.1:9",
        RPC_URLS_BASE: "http://127.0.0.1:9",
        RPC_URLS_POLYGON: "http://127.0.0.1:9",
        TOKENS_BASE: `USDT0:${USDT0_BASE}:6:USDT`,
      },
    });
    shop = await g.createTenant({ origin: "https://assets.example" });
  });
  afterAll(() => g?.close());

  async function call(method: string, path: string, body?: unknown, key = true) {
    const res = await fetch(`${g.url}${path}`, {
      method,
      headers: {
        ...(key ? { "X-STUDIO-API-KEY": shop.apiKey } : {}),
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as any };
  }
  const create = (extra: Record<string, unknown> = {}) =>
    call("POST", INTENT, { fiat_amount: "300", fiat_currency: "TWD", ...extra });
  const checkout = (id: string) => call("GET", `/v1/checkout/payment/${id}`, undefined, false);
  const choose = (id: string, body: unknown) =>
    call("POST", `/v1/checkout/payment/${id}/asset`, body, false);

  it("accepts only the default pair at first: nothing changes for a KryptoGO integration", async () => {
    const settings = await g.services.orgSettings.get(shop.orgId);
    expect(settings.accepted_assets).toEqual([{ chain_id: "arb", symbol: "USDT" }]);
    const plain = await create();
    expect(plain.status).toBe(200);
    expect(plain.body.data).toMatchObject({ payment_chain_id: "arb", symbol: "USDT" });
    expect((await checkout(plain.body.data.payment_intent_id)).body.data).not.toHaveProperty(
      "asset_options",
    );
    const refused = await create({ payment_chain_id: "base", symbol: "USDC" });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 4075, data: { accepted: ["arb/USDT"] } });
    expect(refused.body.message).toMatch(/USDC on base is not accepted/);
  });

  it("refuses assets on chains the gateway does not watch, and unknown ones", async () => {
    await expect(
      g.services.orgSettings.update(
        shop.orgId,
        { accepted_assets: [{ chain_id: "eth", symbol: "USDC" }] },
        cli,
      ),
    ).rejects.toThrow(/accepted_assets\[0\].chain_id: chain eth is not watched .*RPC_URLS_ETH/);
    await expect(
      g.services.orgSettings.update(
        shop.orgId,
        { accepted_assets: [{ chain_id: "base", symbol: "DAI" }] },
        cli,
      ),
    ).rejects.toThrow(/accepted_assets\[0\].symbol: token "DAI" is not available on chain base/);
  });

  it("stores aliases under the canonical key and always keeps the default pair", async () => {
    const s = await g.services.orgSettings.update(
      shop.orgId,
      {
        accepted_assets: [
          { chain_id: "base", symbol: "usdc" },
          { chain_id: "matic", symbol: "USDC.e" },
          { chain_id: "base", symbol: "USDT0" },
        ],
      },
      cli,
    );
    expect(s.accepted_assets).toEqual([
      { chain_id: "arb", symbol: "USDT" },
      { chain_id: "base", symbol: "USDC" },
      { chain_id: "polygon", symbol: "USDC.e" },
      { chain_id: "base", symbol: "USDT0" },
    ]);
  });

  it("creates in a fixed asset: matic and USDC.e, priced as USDC; the payer cannot switch", async () => {
    const r = await create({ payment_chain_id: "matic", symbol: "usdc.e" });
    expect(r.status).toBe(200);
    expect(r.body.data).toMatchObject({
      payment_chain_id: "polygon",
      symbol: "USDC.e",
      token_address: USDC_E_POLYGON,
      decimals: 6,
      // 300 TWD at the static 32.5 TWD per USD, USDC at 1 USD.
      crypto_amount: "9.23",
    });
    const id = r.body.data.payment_intent_id;
    expect((await checkout(id)).body.data).not.toHaveProperty("asset_options");
    const refused = await choose(id, { payment_chain_id: "base", symbol: "USDC" });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe(4076);
    expect(refused.body.message).toMatch(/the merchant fixed the chain and token/);
    const operatorToken = await create({ payment_chain_id: "base", symbol: "USDT0" });
    expect(operatorToken.body.data).toMatchObject({
      payment_chain_id: "base",
      symbol: "USDT0",
      token_address: USDT0_BASE,
    });
  });

  it("refuses an unknown chain or token on create with 400 naming the field", async () => {
    const chain = await create({ payment_chain_id: "tron", symbol: "USDT" });
    expect(chain.status).toBe(400);
    expect(chain.body.message).toMatch(/^payment_chain_id: tron is not an EVM chain/);
    const token = await create({ symbol: "DAI" });
    expect(token.status).toBe(400);
    expect(token.body.message).toMatch(/^symbol: token "DAI" is not available on chain arb/);
  });

  it("offers the accepted assets on the checkout and re-quotes in the payer's choice", async () => {
    const created = (await create()).body.data;
    const id = created.payment_intent_id;
    const read = (await checkout(id)).body.data;
    expect(read.asset_options).toEqual([
      {
        payment_chain_id: "arb",
        chain_name: "Arbitrum One",
        symbol: "USDT",
        crypto_amount: "9.23",
      },
      { payment_chain_id: "base", chain_name: "Base", symbol: "USDC", crypto_amount: "9.23" },
      {
        payment_chain_id: "polygon",
        chain_name: "Polygon PoS",
        symbol: "USDC.e",
        crypto_amount: "9.23",
      },
      { payment_chain_id: "base", chain_name: "Base", symbol: "USDT0", crypto_amount: "9.23" },
    ]);

    const unaccepted = await choose(id, { payment_chain_id: "eth", symbol: "USDC" });
    expect(unaccepted.status).toBe(422);
    expect(unaccepted.body.code).toBe(4075);
    const malformed = await choose(id, { payment_chain_id: "base" });
    expect(malformed.status).toBe(400);

    const chosen = await choose(id, { payment_chain_id: "base", symbol: "USDC" });
    expect(chosen.status).toBe(200);
    expect(chosen.body.data).toMatchObject({
      payment_chain_id: "base",
      chain_name: "Base",
      evm_chain_id: 8453,
      symbol: "USDC",
      token_address: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
      crypto_amount: "9.23",
      payment_address: created.payment_address,
      status: "pending",
    });
    // The merchant's read shows the new asset too, and the history says who changed it.
    const merchant = await call("GET", `${INTENT}/${id}`);
    expect(merchant.body.data).toMatchObject({ payment_chain_id: "base", symbol: "USDC" });
    const history = await g.services.intents.history(
      { kind: "api_key", orgId: shop.orgId } as never,
      id,
    );
    expect(history.at(-1)).toMatchObject({
      from_status: "pending",
      to_status: "pending",
      cause: "payer chose base/USDC (was arb/USDT)",
    });
    const left = await g.database.db
      .selectFrom("payment_intent_asset_changes")
      .select(["chain_id", "symbol", "crypto_amount"])
      .where("payment_intent_id", "=", id)
      .execute();
    expect(left).toEqual([{ chain_id: "arb", symbol: "USDT", crypto_amount: "9230000" }]);

    // Back to the first asset through the alias-free key: allowed while nothing arrived.
    const back = await choose(id, { payment_chain_id: "arb", symbol: "USDT" });
    expect(back.body.data).toMatchObject({ payment_chain_id: "arb", symbol: "USDT" });
  });

  it("closes the choice once something arrived", async () => {
    const id = (await create()).body.data.payment_intent_id as string;
    const intent = await g.database.db
      .selectFrom("payment_intents")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    // What the chain ingest writes when a payment is first seen (not yet confirmed).
    await g.database.db
      .insertInto("transfers")
      .values({
        chain_id: "arb",
        tx_hash: `0x${"ab".repeat(32)}`,
        log_index: 0,
        token_address: intent.token_address,
        from_address: PAYEE,
        to_address: intent.payment_address,
        amount: "1000000",
        block_number: 1,
        block_hash: `0x${"cd".repeat(32)}`,
        block_timestamp: new Date(),
        state: "seen",
        payment_intent_id: id,
      })
      .execute();
    expect((await checkout(id)).body.data).not.toHaveProperty("asset_options");
    const refused = await choose(id, { payment_chain_id: "base", symbol: "USDC" });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 4076 });
    expect(refused.body.message).toMatch(/a payment has already arrived/);
  });

  it("closes the choice after the deadline", async () => {
    const id = (await create()).body.data.payment_intent_id as string;
    await endPaymentWindow(g.database, id);
    expect((await checkout(id)).body.data).not.toHaveProperty("asset_options");
    const refused = await choose(id, { payment_chain_id: "base", symbol: "USDC" });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toMatch(/the time to pay has passed/);
  });

  it("answers 404 for an unknown intent", async () => {
    const r = await choose("x".repeat(32), { payment_chain_id: "base", symbol: "USDC" });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe(4006);
  });
});
