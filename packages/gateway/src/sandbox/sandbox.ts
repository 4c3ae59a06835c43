import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { formatEther, formatUnits, parseEther, parseUnits } from "viem";
import { generatePassword } from "../admin/operator-accounts.ts";
import type { RegisteredChain } from "../chain/chain-registry.ts";
import { loadSeed } from "../chain/seed.ts";
import { type Gateway, startGateway } from "../gateway.ts";
import type { Config } from "../platform/config.ts";
import { type LocalChain, startLocalChain } from "./local-chain.ts";
import { lockSandbox } from "./sandbox-lock.ts";

export const SANDBOX_CHAIN_KEY = "local";

/** What the sandbox hot wallet is topped up to on start: 100,000 test USDT and 100 ETH. */
const HOT_WALLET_FUNDS = { token: parseUnits("100000", 6), eth: parseEther("100") };

/** Where `npm run dev -w examples/react-shop` serves the example shop: allowed from the start. */
export const EXAMPLE_SHOP_ORIGIN = "http://localhost:5173";

export interface SandboxFile {
  api_base_url: string;
  client_id: string;
  api_key: string;
  origin: string;
  org_id: number;
  /** Where the sandbox organisation's successful payments are collected (anvil's account #2). */
  treasury_address: string;
  /** Verifies the sandbox's callbacks (X-Stablegate-Signature). */
  webhook_secret: string;
  payer_private_key: string;
  /** The sandbox organisation's hot wallet: transfers (withdrawals) are sent from it. */
  hot_wallet_address: string;
  /** Studio's operator (owner of the sandbox organisation); the password is made once, kept here. */
  studio: { url: string; email: string; password: string };
  chain: {
    chain_id: typeof SANDBOX_CHAIN_KEY;
    evm_chain_id: number;
    rpc_url: string;
    token_address: string;
    token_symbol: string;
    token_decimals: number;
    /** Every test token of the local chain (USDT, then USDC); the organisation accepts both. */
    tokens: { symbol: string; address: string; decimals: number }[];
  };
}

export interface Sandbox {
  gateway: Gateway;
  chain: LocalChain;
  file: SandboxFile;
  filePath: string;
  stop(): Promise<void>;
}

/**
 * `stablegate dev`: a local chain with a test USDT, the gateway on PGlite (or DATABASE_URL), and
 * a sandbox organisation whose credentials land in DATA_DIR/sandbox.json. A second start reuses
 * the chain state, the database and the credentials.
 */
export async function startSandbox(config: Config, log: Logger): Promise<Sandbox> {
  mkdirSync(config.DATA_DIR, { recursive: true });
  const unlock = await lockSandbox(config);
  let chain: LocalChain | undefined;
  let gateway: Gateway | undefined;
  try {
    const seed = loadSeed({
      seedPhrase: config.SEED_PHRASE,
      seedFile: config.SEED_FILE,
      generateInto: config.DATA_DIR,
    });
    chain = await startLocalChain({
      dataDir: config.DATA_DIR,
      port: config.ANVIL_PORT,
      usdc: true,
      log,
    });
    const localChain: RegisteredChain = {
      key: SANDBOX_CHAIN_KEY,
      evmChainId: chain.evmChainId,
      name: "Sandbox (anvil)",
      tokens: [
        { symbol: chain.tokenSymbol, address: chain.tokenAddress, decimals: chain.tokenDecimals },
        ...(chain.usdcAddress === undefined
          ? []
          : [{ symbol: "USDC", address: chain.usdcAddress, decimals: chain.tokenDecimals }]),
      ],
      rpcUrls: [chain.rpcUrl],
      // One confirmation and a quick poll: a newcomer sees a payment succeed within a block.
      confirmations: 1,
      pollingIntervalMs: 250,
      // anvil runs the latest hardfork (Prague and on): collections and refunds are gasless
      // batch sweeps, as on the main chains.
      gasStrategy: "eip7702",
    };
    // Callbacks go to the developer's own machine, so private addresses are allowed here.
    gateway = await startGateway({
      // The sandbox is one process: API and loops, whatever ROLE says (it is for serve).
      config: { ...config, ROLE: "all" },
      log,
      seed,
      extraChains: [localChain],
      allowPrivateCallbacks: true,
      insecureCookies: true,
    });
    const filePath = path.join(config.DATA_DIR, "sandbox.json");
    const origin = `http://localhost:${gateway.port}`;
    const credentials = await ensureSandboxTenant(gateway.services, filePath, [
      origin,
      EXAMPLE_SHOP_ORIGIN,
    ]);
    const treasuryAddress = await prepareSandboxTreasury(gateway, chain, credentials.orgId);
    // Payers choose between the test USDT and USDC on the checkout, unless the developer has
    // chosen the organisation's assets themselves (more than the default pair).
    const { orgSettings } = gateway.services;
    if ((await orgSettings.get(credentials.orgId)).accepted_assets.length === 1) {
      await orgSettings.update(
        credentials.orgId,
        {
          accepted_assets: localChain.tokens.map((t) => ({
            chain_id: localChain.key,
            symbol: t.symbol,
          })),
        },
        { kind: "cli" },
      );
    }
    // Transfers work out of the box: the hot wallet gets test USDT and ETH for gas, topped up
    // on each start when it has spent more than half.
    const hotWallet = gateway.services.wallets.hotWallet(credentials.orgId).address;
    const added = await chain.topUp(hotWallet, HOT_WALLET_FUNDS);
    if (added.token > 0n || added.eth > 0n) {
      log.info(
        {
          hotWallet,
          usdt: formatUnits(added.token, chain.tokenDecimals),
          eth: formatEther(added.eth),
        },
        "funded the sandbox hot wallet",
      );
    }
    const studio = {
      url: `${gateway.url}/studio`,
      email: SANDBOX_OPERATOR_EMAIL,
      password: readPrevious(filePath)?.studio?.password ?? generatePassword(),
    };
    await gateway.services.operators.ensureSandboxOperator({
      email: studio.email,
      password: studio.password,
      orgId: credentials.orgId,
    });
    const file: SandboxFile = {
      api_base_url: gateway.url,
      client_id: credentials.clientId,
      api_key: credentials.apiKey,
      origin,
      org_id: credentials.orgId,
      treasury_address: treasuryAddress,
      webhook_secret: credentials.webhookSecret,
      payer_private_key: chain.payerPrivateKey,
      hot_wallet_address: hotWallet,
      studio,
      chain: {
        chain_id: SANDBOX_CHAIN_KEY,
        evm_chain_id: chain.evmChainId,
        rpc_url: chain.rpcUrl,
        token_address: chain.tokenAddress,
        token_symbol: chain.tokenSymbol,
        token_decimals: chain.tokenDecimals,
        tokens: localChain.tokens.map((t) => ({
          symbol: t.symbol,
          address: t.address,
          decimals: t.decimals,
        })),
      },
    };
    writeFileSync(filePath, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    // mode applies only when the file is created; an older, looser file is tightened here.
    chmodSync(filePath, 0o600);
    const started = gateway;
    const startedChain = chain;
    return {
      gateway: started,
      chain: startedChain,
      file,
      filePath,
      async stop() {
        await started.stop();
        await startedChain.stop();
        await unlock();
      },
    };
  } catch (err) {
    await gateway?.stop();
    await chain?.stop();
    await unlock();
    throw err;
  }
}

/** Studio's sandbox operator: signs in with the password sandbox.json keeps. */
export const SANDBOX_OPERATOR_EMAIL = "admin@sandbox.local";

/** Anvil's account #2 (the test mnemonic): a treasury a developer can inspect with any wallet. */
const SANDBOX_TREASURY = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
/** The gas wallet is topped up to this (test ETH) on each start when it has spent more than half. */
const GAS_WALLET_ETH = parseEther("1000");

/**
 * Refunds and collections need the gas wallet to pay deposit addresses' gas, and a treasury to
 * collect into: the sandbox provides both (an operator's own treasury setting is kept).
 */
async function prepareSandboxTreasury(
  gateway: Gateway,
  chain: LocalChain,
  orgId: number,
): Promise<string> {
  await chain.topUp(gateway.services.wallets.gasWallet().address, {
    token: 0n,
    eth: GAS_WALLET_ETH,
  });
  const { treasurySettings } = gateway.services;
  const current = await treasurySettings.getOrganizationTreasury(orgId);
  if (current.treasury_address) return current.treasury_address;
  return (await treasurySettings.setTreasury(orgId, SANDBOX_TREASURY)).treasury_address as string;
}

async function ensureSandboxTenant(
  services: Pick<Gateway["services"], "tenancy" | "webhookSecrets">,
  filePath: string,
  origins: string[],
): Promise<{ orgId: number; clientId: string; apiKey: string; webhookSecret: string }> {
  const { tenancy } = services;
  const previous = readPrevious(filePath);
  if (previous?.api_key) {
    const apiKey = previous.api_key;
    try {
      const caller = await tenancy.authenticate({
        apiKey,
        clientId: previous.client_id,
        origin: undefined,
      });
      const client = caller.client;
      if (client) {
        // The port may differ from the last run; the sandbox page's origin must stay allowed.
        const missing = origins.filter((o) => !client.allowedOrigins.includes(o));
        if (missing.length > 0) {
          await tenancy.setAllowedOrigins(client.clientId, [...client.allowedOrigins, ...missing]);
        }
        // A sandbox.json from before per-client callback hosts: its client allowed none.
        if (!client.allowedCallbackHosts.includes("*")) {
          await tenancy.setAllowedCallbackHosts(client.clientId, [
            ...client.allowedCallbackHosts,
            "*",
          ]);
        }
        // A sandbox.json from before callbacks has no secret: a rotation makes one to show.
        const webhookSecret =
          previous.webhook_secret ?? (await services.webhookSecrets.rotate(caller.orgId)).secret;
        return { orgId: caller.orgId, clientId: client.clientId, apiKey, webhookSecret };
      }
    } catch {
      // The database was reset while sandbox.json survived: make a fresh tenant below.
    }
  }
  const org = await tenancy.createOrganization({
    name: "Sandbox",
    defaultChainId: SANDBOX_CHAIN_KEY,
    defaultTokenSymbol: "USDT",
  });
  const client = await tenancy.createClient({
    orgId: org.id,
    name: "Sandbox client",
    allowedOrigins: origins,
    // The developer's own machine: browser creates (the React example) may call back anywhere.
    allowedCallbackHosts: ["*"],
  });
  const key = await tenancy.createApiKey({ orgId: org.id, name: "Sandbox key" });
  return {
    orgId: org.id,
    clientId: client.clientId,
    apiKey: key.secret,
    webhookSecret: org.webhookSecret,
  };
}

function readPrevious(filePath: string): Partial<SandboxFile> | undefined {
  if (!existsSync(filePath)) return undefined;
  try {
    return JSON.parse(readFileSync(filePath, "utf8")) as Partial<SandboxFile>;
  } catch {
    return undefined;
  }
}

export function sandboxBanner(sandbox: Sandbox): string {
  const f = sandbox.file;
  return [
    "",
    "  Stablegate sandbox is running",
    "",
    `  API          ${f.api_base_url}`,
    `  API docs     ${f.api_base_url}/docs`,
    `  Local chain  ${f.chain.rpc_url} (chain id ${f.chain.evm_chain_id}, ${f.chain.tokens.map((t) => `test ${t.symbol} ${t.address}`).join(", ")})`,
    `  Credentials  ${sandbox.filePath} (API key, client id, webhook_secret for callbacks)`,
    `  Studio       ${f.studio.url} (${f.studio.email}, password ${f.studio.password})`,
    `  Hot wallet   ${f.hot_wallet_address} (transfers are sent from it; funded with test USDT and ETH)`,
    "",
    "  Create a payment intent:",
    "",
    `  curl -s -X POST ${f.api_base_url}/v1/studio/api/payment/intent \\`,
    "    -H 'Content-Type: application/json' \\",
    `    -H 'X-Client-ID: ${f.client_id}' \\`,
    `    -H 'Origin: ${f.origin}' \\`,
    `    -H 'X-STUDIO-API-KEY: ${f.api_key}' \\`,
    `    -d '{"fiat_amount":"300.0","fiat_currency":"TWD","order_data":{"order_id":"uid_12345"},"group_key":"buy_stone_with_usdt"}'`,
    "",
    "  Press Ctrl-C to stop (the local chain stops too; state is kept in the data directory).",
    "",
  ].join("\n");
}
