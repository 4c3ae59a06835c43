import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHAIN, startTransferFixture, type TransferFixture } from "./transfer-fixture.ts";

// Reading transfers and the hot wallet back, as a merchant's server does.

let f: TransferFixture;
beforeAll(async () => {
  f = await startTransferFixture();
});
afterAll(() => f?.stop());

describe("transfer reads", () => {
  it("keeps organisations apart and answers 4023 for an unknown id", async () => {
    const a = await f.fundedTenant("10");
    const b = await f.gateway.createTenant({ chain: CHAIN });
    const sent = await f.transfer(a, f.body("1"));
    expect((await f.getTransfer(a, sent.data.id)).code).toBe(0);
    const other = await f.getTransfer(b, sent.data.id);
    expect([other.status, other.code]).toEqual([404, 4023]);
    const unknown = await f.getTransfer(a, "1-1627380000-999");
    expect(unknown.code).toBe(4023);
    // Not an id's shape: unknown, not a 500; a NUL byte the database would refuse is a 400.
    expect((await f.getTransfer(a, "x".repeat(500))).code).toBe(4023);
    for (const odd of ["%00", "1-1-1%00"]) {
      expect((await f.getTransfer(a, odd)).code, odd).toBe(4000);
    }
    const list = await f.call<{ total_count: number }>(
      "GET",
      "/v1/studio/api/asset_pro/transfers",
      {
        apiKey: b.apiKey,
      },
    );
    expect(list.data.total_count).toBe(0);
    const badPage = await f.call("GET", "/v1/studio/api/asset_pro/transfers?page_size=500", {
      apiKey: a.apiKey,
    });
    expect(badPage.code).toBe(4000);
  });

  it("shows the hot wallet's address and balances, with what is in flight", async () => {
    const shop = await f.fundedTenant("10", "2");
    await f.transfer(shop, f.body("2.5"));
    const wallet = await f.call<{
      address: string;
      chains: {
        chain_id: string;
        native_balance: string;
        tokens: { symbol: string; balance: string; in_flight: string }[];
      }[];
    }>("GET", "/v1/studio/api/asset_pro/wallet", { apiKey: shop.apiKey });
    expect(wallet.data.address).toBe(shop.hot);
    expect(wallet.data.chains).toEqual([
      {
        chain_id: CHAIN,
        native_balance: "2",
        tokens: [
          {
            symbol: "USDT",
            contract_address: f.token,
            decimals: 6,
            balance: "10",
            in_flight: "2.5",
          },
        ],
        error: null,
      },
    ]);
  });

  it("documents every transfer endpoint in the OpenAPI document", async () => {
    const doc = (await (await fetch(`${f.gateway.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths["/v1/studio/api/asset_pro/transfer"] ?? {})).toEqual(["post"]);
    expect(doc.paths["/v1/studio/api/asset_pro/transfer/{id}"]?.get).toBeDefined();
    expect(doc.paths["/v1/studio/api/asset_pro/transfers"]?.get).toBeDefined();
    expect(doc.paths["/v1/studio/api/asset_pro/wallet"]?.get).toBeDefined();
  });
});
