import { type Address, createTestClient, erc20Abi, type Hex, parseEther, parseUnits } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { expect } from "vitest";
import type { RegisteredChain } from "../chain/chain-registry.ts";
import { startManualChain } from "../testing/manual-chain.ts";
import { startTestGateway, type TestTenant } from "../testing/test-gateway.ts";
import { testTransport } from "../testing/test-transport.ts";
import type { TransferView, TransferResult as WireTransferResult } from "./transfer-schemas.ts";

// What the transfer tests share: a real anvil chain mined by hand (a transfer stays in flight
// until the test mines), the real gateway with its transaction manager, and only what a merchant
// sees (HTTP) plus the chain itself.

export const CHAIN = "local";
export const TRANSFER = "/v1/studio/api/asset_pro/transfer";

export interface Envelope<T = Record<string, unknown>> {
  status: number;
  code: number;
  message?: string;
  data: T & Record<string, unknown>;
}
// The wire shapes the API documents; a transfer's hash is a hex string.
export type TransferResult = WireTransferResult & { tx_hash: Hex };
export type Transfer = TransferView;
export type FundedTenant = TestTenant & { hot: Address };

export const units = (amount: string) => parseUnits(amount, 6);

/** A fresh recipient address per call. */
export const recipient = (): Address =>
  privateKeyToAccount(
    `0x${Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("")}`,
  ).address;

export async function startTransferFixture() {
  const chain = await startManualChain();
  const token = chain.chain.tokenAddress;
  const testClient = createTestClient({
    mode: "anvil",
    chain: anvil,
    transport: testTransport(chain.chain.rpcUrl),
  });
  const local: RegisteredChain = {
    key: CHAIN,
    evmChainId: chain.chain.evmChainId,
    name: "Anvil",
    tokens: [{ symbol: "USDT", address: token, decimals: 6 }],
    rpcUrls: [chain.chain.rpcUrl],
    confirmations: 1,
    pollingIntervalMs: 50,
  };
  const gateway = await startTestGateway({ extraChains: [local] }).catch(async (err) => {
    await chain.stop();
    throw err;
  });

  async function call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { apiKey?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Envelope<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.apiKey !== undefined) headers["X-STUDIO-API-KEY"] = options.apiKey;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    return { status: res.status, ...((await res.json()) as Omit<Envelope<T>, "status">) };
  }

  const transfer = (
    tenant: TestTenant,
    body: Record<string, unknown>,
    options: { idempotencyKey?: string; apiKey?: string } = {},
  ) =>
    call<TransferResult>("POST", TRANSFER, {
      apiKey: options.apiKey ?? tenant.apiKey,
      body,
      ...(options.idempotencyKey === undefined
        ? {}
        : { headers: { "Idempotency-Key": options.idempotencyKey } }),
    });

  const body = (amount: string, to: Address = recipient()) => ({
    chain_id: CHAIN,
    contract_address: token,
    amount,
    wallet_address: to,
  });

  const tokenBalance = (address: Address) =>
    chain.publicClient.readContract({
      address: token,
      abi: erc20Abi,
      functionName: "balanceOf",
      args: [address],
    });

  const getTransfer = (tenant: TestTenant, id: string) =>
    call<Transfer>("GET", `${TRANSFER}/${id}`, { apiKey: tenant.apiKey });

  return {
    chain,
    gateway,
    token,
    testClient,
    call,
    transfer,
    body,
    tokenBalance,
    getTransfer,

    /** An organisation whose hot wallet holds `usdt` test USDT and `eth` ETH. */
    async fundedTenant(usdt: string, eth = "1"): Promise<FundedTenant> {
      const tenant = await gateway.createTenant({ chain: CHAIN });
      const wallet = await call<{ address: Address }>("GET", "/v1/studio/api/asset_pro/wallet", {
        apiKey: tenant.apiKey,
      });
      expect(wallet.code).toBe(0);
      const hot = wallet.data.address;
      if (usdt !== "0") await chain.transfer({ to: hot, value: units(usdt) });
      await testClient.setBalance({ address: hot, value: parseEther(eth) });
      await chain.mine();
      expect(await tokenBalance(hot)).toBe(units(usdt));
      return { ...tenant, hot };
    },

    /** Mines until every listed transfer is confirmed (the tx manager follows receipts every 50 ms). */
    async mineUntilConfirmed(tenant: TestTenant, ids: string[], timeout = 60_000) {
      let views: Transfer[] = [];
      await expect
        .poll(
          async () => {
            await chain.mine();
            views = (await Promise.all(ids.map((id) => getTransfer(tenant, id)))).map(
              (v) => v.data,
            );
            // The error, if any, shows in the failure message.
            return views.map((v) => [
              v.id,
              v.status === "confirmed" ? v.status : `${v.status}: ${v.error}`,
            ]);
          },
          { timeout, interval: 100 },
        )
        .toEqual(ids.map((id) => [id, "confirmed"]));
      return views;
    },

    async stop() {
      await gateway.close();
      await chain.stop();
    },
  };
}

export type TransferFixture = Awaited<ReturnType<typeof startTransferFixture>>;
