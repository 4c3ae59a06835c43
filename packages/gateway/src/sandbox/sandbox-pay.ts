import { readFileSync } from "node:fs";
import path from "node:path";
import { createPublicClient, createWalletClient, erc20Abi, type Hex, http, parseUnits } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ConfigError } from "../platform/config.ts";
import type { SandboxFile } from "./sandbox.ts";

/**
 * `stablegate dev pay <payment_intent_id> [amount]`: pays an intent from the sandbox payer, so a
 * newcomer can watch it succeed without writing code. It reads the intent through the public API
 * and sends a real ERC-20 transfer on the local chain.
 */
export async function paySandboxIntent(options: {
  dataDir: string;
  paymentIntentId: string;
  amount?: string | undefined;
  /** Pay in this token: chosen on the intent first (the checkout's POST .../asset). */
  token?: string | undefined;
}): Promise<{ txHash: Hex; amount: string; symbol: string; to: string; blockNumber: bigint }> {
  const file = path.join(options.dataDir, "sandbox.json");
  let sandbox: SandboxFile;
  try {
    sandbox = JSON.parse(readFileSync(file, "utf8")) as SandboxFile;
  } catch {
    throw new ConfigError(`DATA_DIR: no sandbox at ${file}; run \`npm start\` first`);
  }
  const res = await fetch(
    `${sandbox.api_base_url}/v1/studio/api/payment/intent/${encodeURIComponent(options.paymentIntentId)}`,
    { headers: { "X-STUDIO-API-KEY": sandbox.api_key } },
  ).catch(() => {
    throw new ConfigError(
      `the sandbox API at ${sandbox.api_base_url} is not answering; is \`npm start\` running?`,
    );
  });
  const body = (await res.json()) as {
    code: number;
    message?: string;
    data?: {
      payment_address: string;
      token_address: string;
      crypto_amount: string;
      decimals: number;
      payment_chain_id: string;
      symbol: string;
    };
  };
  if (body.code !== 0 || !body.data)
    throw new ConfigError(`payment intent: ${body.message ?? "not found"}`);
  let intent = body.data;
  if (options.token !== undefined && options.token.toLowerCase() !== intent.symbol.toLowerCase()) {
    const chosen = await fetch(
      `${sandbox.api_base_url}/v1/checkout/payment/${encodeURIComponent(options.paymentIntentId)}/asset`,
      {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ payment_chain_id: intent.payment_chain_id, symbol: options.token }),
      },
    );
    const answer = (await chosen.json()) as {
      code: number;
      message?: string;
      data?: typeof intent;
    };
    if (answer.code !== 0 || !answer.data) {
      throw new ConfigError(`--token ${options.token}: ${answer.message ?? "refused"}`);
    }
    intent = answer.data;
  }
  if (intent.payment_chain_id !== sandbox.chain.chain_id) {
    throw new ConfigError(
      `payment intent is on chain ${intent.payment_chain_id}, not the sandbox's local chain`,
    );
  }
  const amount = options.amount ?? intent.crypto_amount;
  let value: bigint;
  try {
    value = parseUnits(amount, intent.decimals);
  } catch {
    throw new ConfigError(`amount: ${amount} is not a decimal number`);
  }
  if (value <= 0n) throw new ConfigError("amount: must be greater than 0");
  const account = privateKeyToAccount(sandbox.payer_private_key as Hex);
  const transport = http(sandbox.chain.rpc_url);
  const chain = {
    id: sandbox.chain.evm_chain_id,
    name: "Stablegate sandbox",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [sandbox.chain.rpc_url] } },
  } as const;
  const wallet = createWalletClient({ account, chain, transport });
  const client = createPublicClient({ chain, transport, pollingInterval: 250 });
  const txHash = await wallet.writeContract({
    address: intent.token_address as Hex,
    abi: erc20Abi,
    functionName: "transfer",
    args: [intent.payment_address as Hex, value],
  });
  const receipt = await client.waitForTransactionReceipt({ hash: txHash });
  return {
    txHash,
    amount,
    symbol: intent.symbol,
    to: intent.payment_address,
    blockNumber: receipt.blockNumber,
  };
}
