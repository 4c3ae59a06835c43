import {
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  custom,
  type EIP1193Provider,
  erc20Abi,
  formatUnits,
  getAddress,
  type Hash,
} from "viem";
import { anvil, arbitrum, base, bsc, mainnet, optimism, polygon } from "viem/chains";

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

/** What the page tells the payer while the wallet works. */
export type WalletStep = "connecting" | "switching" | "checking" | "confirm";

/** Failures a person can act on; anything else is "other" with the wallet's own words. */
export type WalletErrorKind =
  | "noWallet"
  | "rejected"
  | "busy"
  | "noAccount"
  | "wrongChain"
  | "unknownChain"
  | "insufficientToken"
  | "insufficientGas"
  | "other";

export class WalletPaymentError extends Error {
  readonly kind: WalletErrorKind;
  /** For insufficientToken: what the account holds, as a decimal string. */
  readonly balance: string | undefined;
  constructor(kind: WalletErrorKind, message: string, balance?: string) {
    super(message);
    this.name = "WalletPaymentError";
    this.kind = kind;
    this.balance = balance;
  }
}

// wallet_addEthereumChain needs a chain's RPC URLs and currency; viem knows the public ones of
// the chains the gateway supports, and the sandbox's anvil on its default port.
const ADDABLE_CHAINS: readonly Chain[] = [mainnet, arbitrum, base, bsc, polygon, optimism, anvil];

export function nativeCurrencySymbol(evmChainId: number): string {
  return ADDABLE_CHAINS.find((c) => c.id === evmChainId)?.nativeCurrency.symbol ?? "ETH";
}

export interface WalletPaymentRequest {
  evmChainId: number;
  chainName: string;
  tokenAddress: string;
  symbol: string;
  decimals: number;
  to: string;
  amountBaseUnits: bigint;
  onStep(step: WalletStep): void;
}

/**
 * Sends the ERC-20 transfer from the injected wallet: asks for an account, moves the wallet to
 * the payment's chain (adding it when the wallet does not know it), checks the balance so a
 * shortfall is explained before the wallet shows a cryptic failure, then transfers.
 * Resolves with the transaction hash once the wallet has broadcast it.
 */
export async function payWithInjectedWallet(request: WalletPaymentRequest): Promise<Hash> {
  const provider = window.ethereum;
  if (!provider) throw new WalletPaymentError("noWallet", "no injected wallet");
  try {
    const chain: Chain = ADDABLE_CHAINS.find((c) => c.id === request.evmChainId) ?? {
      id: request.evmChainId,
      name: request.chainName,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [] } },
    };
    const wallet = createWalletClient({ chain, transport: custom(provider) });

    request.onStep("connecting");
    const [account] = await wallet.requestAddresses();
    if (!account) throw new WalletPaymentError("noAccount", "the wallet shared no account");

    if ((await wallet.getChainId()) !== chain.id) {
      request.onStep("switching");
      await switchOrAddChain(wallet, chain);
      if ((await wallet.getChainId()) !== chain.id) {
        throw new WalletPaymentError("wrongChain", `the wallet stayed off chain ${chain.id}`);
      }
    }

    request.onStep("checking");
    const token = getAddress(request.tokenAddress);
    const reader = createPublicClient({ chain, transport: custom(provider) });
    const balance = await reader.readContract({
      address: token,
      abi: erc20Abi,
      functionName: "balanceOf",
      args: [account],
    });
    if (balance < request.amountBaseUnits) {
      throw new WalletPaymentError(
        "insufficientToken",
        "balance below the amount due",
        formatUnits(balance, request.decimals),
      );
    }

    request.onStep("confirm");
    return await wallet.writeContract({
      account,
      address: token,
      abi: erc20Abi,
      functionName: "transfer",
      args: [getAddress(request.to) as Address, request.amountBaseUnits],
    });
  } catch (error) {
    throw classifyWalletError(error);
  }
}

async function switchOrAddChain(
  wallet: ReturnType<typeof createWalletClient>,
  chain: Chain,
): Promise<void> {
  try {
    await wallet.switchChain({ id: chain.id });
  } catch (error) {
    if (findCode(error) !== 4902) throw error;
    // 4902: the wallet does not know the chain. Adding it needs an RPC URL we can vouch for.
    if (chain.rpcUrls.default.http.length === 0) {
      throw new WalletPaymentError("unknownChain", `the wallet does not know chain ${chain.id}`);
    }
    await wallet.addChain({ chain });
    await wallet.switchChain({ id: chain.id });
  }
}

/** The first EIP-1193 / JSON-RPC error code in the cause chain. */
function findCode(error: unknown): number | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 10; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "number") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function allMessages(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e && depth < 10; depth++) {
    const { name, message, details } = e as { name?: string; message?: string; details?: string };
    parts.push(name ?? "", message ?? "", details ?? "");
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join("\n");
}

export function classifyWalletError(error: unknown): WalletPaymentError {
  if (error instanceof WalletPaymentError) return error;
  const code = findCode(error);
  const text = allMessages(error);
  const short =
    (error as { shortMessage?: string }).shortMessage ??
    (error instanceof Error ? error.message : String(error));
  if (code === 4001 || /user (rejected|denied)/i.test(text)) {
    return new WalletPaymentError("rejected", short);
  }
  if (code === -32002) return new WalletPaymentError("busy", short);
  if (code === 4902) return new WalletPaymentError("unknownChain", short);
  if (code === 4100) return new WalletPaymentError("noAccount", short);
  if (/ChainMismatch|does not match the target chain/i.test(text)) {
    return new WalletPaymentError("wrongChain", short);
  }
  if (/exceeds balance|insufficient balance/i.test(text)) {
    return new WalletPaymentError("insufficientToken", short);
  }
  if (/insufficient funds/i.test(text)) return new WalletPaymentError("insufficientGas", short);
  return new WalletPaymentError("other", short.split("\n")[0] ?? short);
}
