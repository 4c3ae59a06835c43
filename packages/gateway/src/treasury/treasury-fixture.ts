import { mnemonicToSeedSync } from "@scure/bip39";
import {
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  erc20Abi,
  type Hex,
  parseEther,
  parseEventLogs,
  parseUnits,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { anvil } from "viem/chains";
import { expect, vi } from "vitest";
import type { RegisteredChain } from "../chain/chain-registry.ts";
import type { GasStrategy } from "../chain/known-chains.ts";
import { createWallets } from "../chain/wallets.ts";
import { startLocalChain } from "../sandbox/local-chain.ts";
import { startCallbackReceiver } from "../testing/callback-receiver.ts";
import { freePort } from "../testing/cli-process.ts";
import { startRestartableGateway } from "../testing/restartable-gateway.ts";
import { TEST_MNEMONIC, type TestTenant } from "../testing/test-gateway.ts";
import { createTestLogger } from "../testing/test-logger.ts";
import { testTransport } from "../testing/test-transport.ts";

// What the treasury tests share: a real anvil mining every 200 ms, the real gateway (watcher,
// lifecycle, transaction manager, treasury worker), and what a merchant and a payer can check:
// the HTTP API, the callbacks and the balances on chain. One chain serves every test in a file:
// a second anvil costs more on a 2-core machine than the tests it would isolate.

export interface Intent {
  payment_intent_id: string;
  payment_address: Address;
  payment_deadline: number;
  status: string;
  received_amount: string | null;
  refund_amount: string | null;
  refund_tx_hash: Hex | null;
  aggregated_amount: string | null;
  aggregation_tx_hash: Hex | null;
  late_amount: string | null;
  late_refund_amount: string | null;
  late_refund_tx_hash: Hex | null;
}

const SEED_PASSPHRASE = "treasury";
export const TTL_SECONDS = 5;
export const CHAIN_KEY = "local";
export const WAIT = { timeout: 60_000, interval: 100 };
export const units = (amount: string) => parseUnits(amount, 6);

/** Start once per file (beforeAll), stop() after all. */
export async function startTreasuryFixture(
  options: { gasStrategy?: GasStrategy; env?: Record<string, string> } = {},
) {
  const wallets = createWallets(mnemonicToSeedSync(TEST_MNEMONIC, SEED_PASSPHRASE));
  const chain = await startLocalChain({
    port: await freePort(),
    blockTimeSeconds: 0.2,
    // A second token: a payer who chose USDC is refunded and collected in USDC.
    usdc: true,
    log: createTestLogger(),
  });
  const usdc = chain.usdcAddress as Address;
  // The gateway under test shares this process and its event loop; on PGlite, beside a second
  // suite on 2 busy cores, the loop can stall for longer than viem's default 10 s, and a reply
  // that had arrived was reported as a timeout (sweep-batches.test.ts, once in CI).
  const transport = testTransport(chain.rpcUrl);
  const publicClient = createPublicClient({ chain: anvil, transport, pollingInterval: 50 });
  const payerWallet = createWalletClient({
    account: privateKeyToAccount(chain.payerPrivateKey),
    chain: anvil,
    transport,
  });
  const local: RegisteredChain = {
    key: CHAIN_KEY,
    evmChainId: chain.evmChainId,
    name: "Anvil",
    tokens: [
      { symbol: "USDT", address: chain.tokenAddress, decimals: 6 },
      { symbol: "USDC", address: usdc, decimals: 6 },
    ],
    rpcUrls: [chain.rpcUrl],
    confirmations: 1,
    pollingIntervalMs: 100,
    // The top-up strategy's own tests run here; sweep-batches.test.ts runs the EIP-7702 one.
    gasStrategy: options.gasStrategy ?? "topup",
  };
  const started: Array<{ close(): Promise<void> }> = [];
  const stop = async () => {
    for (const s of started.reverse()) await s.close();
    await chain.stop();
  };
  let gw: Awaited<ReturnType<typeof startRestartableGateway>>;
  let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
  try {
    // What an operator must do before refunds and collections can move: fund the gas wallet.
    await createTestClient({ mode: "anvil", chain: anvil, transport }).setBalance({
      address: wallets.gasWallet().address,
      value: parseEther("100"),
    });
    receiver = await startCallbackReceiver();
    started.push(receiver);
    gw = await startRestartableGateway({
      seedPassphrase: SEED_PASSPHRASE,
      extraChains: [local],
      env: {
        PAYMENT_TTL_SECONDS: String(TTL_SECONDS),
        TREASURY_INTERVAL_MS: "100",
        CALLBACK_ALLOWED_NETWORKS: "127.0.0.1/32",
        ...options.env,
      },
      settleIntervalMs: 100,
    });
    started.push(gw);
  } catch (err) {
    await stop();
    throw err;
  }

  async function openShop(o: { treasury?: Address; feeBps?: number } = {}) {
    const tenant: TestTenant = await gw.createTenant({ chain: CHAIN_KEY });
    if (o.treasury) await gw.services.treasurySettings.setTreasury(tenant.orgId, o.treasury);
    if (o.feeBps !== undefined) await gw.services.treasurySettings.setFee(tenant.orgId, o.feeBps);
    const headers = { "Content-Type": "application/json", "X-STUDIO-API-KEY": tenant.apiKey };
    const get = async (id: string) => {
      const res = await fetch(`${gw.url}/v1/studio/api/payment/intent/${id}`, { headers });
      const body = (await res.json()) as { code: number; data: Intent };
      expect(res.status, JSON.stringify(body)).toBe(200);
      return body.data;
    };
    return {
      tenant,
      async create(fiatUsd: string): Promise<Intent> {
        const res = await fetch(`${gw.url}/v1/studio/api/payment/intent`, {
          method: "POST",
          headers,
          body: JSON.stringify({
            fiat_amount: fiatUsd,
            fiat_currency: "USD",
            callback_url: receiver.url,
          }),
        });
        const body = (await res.json()) as { code: number; data: Intent };
        expect(res.status, JSON.stringify(body)).toBe(200);
        return body.data;
      },
      get,
      waitFor(intent: Intent, ok: (d: Intent) => boolean, what: string) {
        return vi.waitFor(async () => {
          const d = await get(intent.payment_intent_id);
          if (ok(d)) return d;
          throw new Error(
            `${intent.payment_intent_id}: waiting for ${what}; last seen: ${JSON.stringify(d)}`,
          );
        }, WAIT);
      },
    };
  }

  return {
    chain,
    /** The chain as the gateway registers it; a second gateway on the same anvil takes it too. */
    local,
    gw,
    receiver,
    publicClient,
    /** The payer's wallet, for payments sent without waiting for each (pay() waits). */
    payerWallet,
    wallets,
    openShop,

    usdc,

    /** The payer sends `amount` test USDT (or `token`) to `to`; resolves once it is mined. */
    async pay(to: Address, amount: string, token: Address = chain.tokenAddress): Promise<Hex> {
      const hash = await payerWallet.writeContract({
        address: token,
        abi: erc20Abi,
        functionName: "transfer",
        args: [to, units(amount)],
        account: payerWallet.account ?? null,
        chain: anvil,
      });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      expect(receipt.status).toBe("success");
      return hash;
    },

    tokenBalance: (address: Address, token: Address = chain.tokenAddress) =>
      publicClient.readContract({
        address: token,
        abi: erc20Abi,
        functionName: "balanceOf",
        args: [address],
      }),

    /** Every token transfer the deposit address has sent, from the chain itself. */
    async sentFrom(address: Address) {
      const logs = await publicClient.getContractEvents({
        address: chain.tokenAddress,
        abi: erc20Abi,
        eventName: "Transfer",
        args: { from: address },
        fromBlock: 0n,
      });
      return logs.map((l) => ({ to: l.args.to, value: l.args.value, tx: l.transactionHash }));
    },

    async transferOf(hash: Hex) {
      const receipt = await publicClient.getTransactionReceipt({ hash });
      expect(receipt.status).toBe("success");
      return parseEventLogs({ abi: erc20Abi, logs: receipt.logs, eventName: "Transfer" }).map(
        (l) => ({ from: l.args.from, to: l.args.to, value: l.args.value }),
      );
    },

    history: (intent: Intent) =>
      gw.database.db
        .selectFrom("payment_intent_status_history")
        .select(["from_status", "to_status", "cause"])
        .where("payment_intent_id", "=", intent.payment_intent_id)
        .orderBy("id")
        .execute(),

    topups: (deposit: Address) =>
      gw.database.db
        .selectFrom("gas_topups")
        .selectAll()
        .where("deposit_address", "=", deposit)
        .orderBy("id")
        .execute(),

    stop,
  };
}

export type TreasuryFixture = Awaited<ReturnType<typeof startTreasuryFixture>>;
