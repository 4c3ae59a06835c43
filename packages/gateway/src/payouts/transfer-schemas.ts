import { z } from "@hono/zod-openapi";
import { pageOf } from "../http/openapi.ts";

// The transfer API's wire shapes. The service's types are inferred from these, so the documented
// shape and the returned one cannot drift apart.

const requiredString = (example: string, description: string) =>
  z
    .string({
      error: (issue) => (issue.input === undefined ? "is required" : "must be a string"),
    })
    .openapi({ example, description });

export const TransferBody = z
  .object({
    chain_id: requiredString(
      "arb",
      "The chain to send on (eth, arb, base, bsc, polygon, optimism).",
    ),
    contract_address: requiredString(
      "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9",
      "A token registered on that chain (USDT or USDC).",
    ),
    amount: requiredString(
      "100.123",
      "Decimal token amount, greater than 0, at most the token's decimals (6 for USDT).",
    ),
    wallet_address: requiredString(
      "0x3fE5aC82B997255b8226abb6aEfd91f405fe2e8e",
      "The recipient: lower case or EIP-55 checksummed.",
    ),
  })
  .openapi("TransferRequest");
export type TransferInput = z.infer<typeof TransferBody>;

/** The reference's answer to POST /asset_pro/transfer. */
export const TransferResult = z
  .object({
    id: z
      .string()
      .openapi({ example: "1-1627380000-1", description: "<org>-<unix time>-<sequence>" }),
    tx_hash: z.string().openapi({ example: "0x1234567890abcdef" }),
    transfer_time: z.number().int().openapi({ example: 1627380000, description: "Unix seconds" }),
  })
  .openapi("TransferResult");
export type TransferResult = z.infer<typeof TransferResult>;

export const TransferView = z
  .object({
    id: z.string().openapi({ example: "1-1627380000-1" }),
    status: z.enum(["submitted", "confirmed", "failed"]).openapi({
      description:
        "submitted: signed and sent, not yet at the chain's confirmations; confirmed: mined and confirmed; failed: reverted or could not be sent (see error).",
    }),
    chain_id: z.string().openapi({ example: "arb" }),
    contract_address: z.string(),
    symbol: z.string().openapi({ example: "USDT" }),
    amount: z.string().openapi({ example: "100.123" }),
    wallet_address: z.string(),
    from_address: z.string().openapi({ description: "The organisation's hot wallet." }),
    // null only while the transaction is being signed (a few milliseconds after the request).
    tx_hash: z.string().nullable(),
    transfer_time: z.number().int().openapi({ description: "Unix seconds" }),
    nonce: z.number().int().nullable(),
    block_number: z.number().int().nullable(),
    gas_used: z.string().nullable(),
    effective_gas_price: z.string().nullable().openapi({ description: "wei per gas" }),
    // Why it failed (or why sending is retried), in the transaction manager's words.
    error: z.string().nullable(),
  })
  .openapi("Transfer");
export type TransferView = z.infer<typeof TransferView>;
export type TransferStatus = TransferView["status"];

export const TransferList = pageOf(TransferView).openapi("TransferList");
export type TransferList = z.infer<typeof TransferList>;

export const WalletView = z
  .object({
    address: z.string().openapi({ description: "The same address on every EVM chain." }),
    chains: z.array(
      z.object({
        chain_id: z.string(),
        native_balance: z.string().nullable().openapi({ description: "ETH, BNB, POL... for gas" }),
        tokens: z.array(
          z.object({
            symbol: z.string(),
            contract_address: z.string(),
            decimals: z.number().int(),
            balance: z.string().nullable(),
            in_flight: z
              .string()
              .openapi({ description: "Transfers sent but not yet mined: already spoken for." }),
          }),
        ),
        // Why the balances are missing (the RPC did not answer).
        error: z.string().nullable(),
      }),
    ),
  })
  .openapi("HotWallet");
export type WalletView = z.infer<typeof WalletView>;
