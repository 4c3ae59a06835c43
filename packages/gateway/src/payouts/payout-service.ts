import type { Kysely } from "kysely";
import type { PrivateKeyAccount } from "viem/accounts";
import type { ChainRegistry } from "../chain/chain-registry.ts";
import type { TxManager } from "../chain/tx-manager/tx-manager.ts";
import type { Caller } from "../organizations/tenancy-service.ts";
import type { Database } from "../platform/database/schema.ts";
import { invalidApiKey } from "../platform/errors.ts";
import { createHotWalletView } from "./hot-wallet-view.ts";
import {
  findByIdempotencyKey,
  type PayoutRow,
  selectPayouts,
  toTransferView,
} from "./payout-queries.ts";
import { createPayoutReservations, type ReserveRequest } from "./reserve-payout.ts";
import { createPayoutSender, transferResult } from "./send-payout.ts";
import { idempotencyKeyReused, transferNotFound } from "./transfer-errors.ts";
import type {
  TransferInput,
  TransferList,
  TransferResult,
  TransferView,
  WalletView,
} from "./transfer-schemas.ts";
import {
  transferRequestHash,
  type ValidatedTransfer,
  validateIdempotencyKey,
  validateTransfer,
} from "./validate-transfer.ts";

/** `<org>-<unix time>-<sequence>`, the reference's transfer id. */
const TRANSFER_ID_PATTERN = /^\d{1,10}-\d{1,12}-\d{1,10}$/;

function requireApiKeyCaller(caller: Caller) {
  if (caller.kind !== "api_key") throw invalidApiKey("this endpoint requires X-STUDIO-API-KEY");
  return caller;
}

/**
 * Transfers (withdrawals) from an organisation's hot wallet: validate, then reserve under the
 * organisation's lock (limits, balances), then sign and send through the transaction manager
 * (one key per payout, so a retried request or a crashed process never sends twice).
 */
export function createPayoutService(options: {
  db: Kysely<Database>;
  chains: ChainRegistry;
  txManager: Pick<TxManager, "submit" | "byKey" | "estimate" | "client">;
  wallets: { hotWallet(orgId: number): PrivateKeyAccount };
  now?: () => Date;
}) {
  const { db, chains, wallets } = options;
  const now = options.now ?? (() => new Date());
  const sender = createPayoutSender({ ...options, now });
  const reserve = createPayoutReservations({
    db,
    txManager: options.txManager,
    settleAbandoned: sender.settleAbandoned,
    now,
  });
  const walletOf = createHotWalletView(options);

  /** The same Idempotency-Key again: the first transfer (sent now if it never was), same body only. */
  async function replay(row: PayoutRow, hash: string, orgId: number): Promise<TransferResult> {
    if (row.request_hash !== hash) throw idempotencyKeyReused(row.idempotency_key, row.id);
    if (row.tx_hash === null) return sender.send(row, orgId);
    return transferResult(row, row.tx_hash);
  }

  return {
    async transfer(
      caller: Caller,
      input: TransferInput,
      idempotencyKey?: string,
    ): Promise<TransferResult> {
      const { orgId, apiKeyId } = requireApiKeyCaller(caller);
      validateIdempotencyKey(idempotencyKey);
      const transfer = validateTransfer(chains, input);
      const requestHash = transferRequestHash(transfer);
      if (idempotencyKey !== undefined) {
        // Outside the lock first: a retry of a sent transfer needs no queue.
        const prior = await findByIdempotencyKey(db, { orgId, key: idempotencyKey, now: now() });
        if (prior) return replay(prior, requestHash, orgId);
      }
      const reserved = await reserve({
        orgId,
        apiKeyId,
        from: wallets.hotWallet(orgId).address,
        transfer,
        requestHash,
        idempotencyKey,
      });
      if ("prior" in reserved) return replay(reserved.prior, requestHash, orgId);
      return sender.send(reserved.row, orgId);
    },

    async get(caller: Caller, id: string): Promise<TransferView> {
      const { orgId } = requireApiKeyCaller(caller);
      // Not the id's shape (a NUL byte would even make the database refuse the query): unknown.
      if (!TRANSFER_ID_PATTERN.test(id)) throw transferNotFound(id);
      const row = (await selectPayouts(db)
        .where("p.org_id", "=", orgId)
        .where("p.id", "=", id)
        .executeTakeFirst()) as PayoutRow | undefined;
      if (!row) throw transferNotFound(id);
      return toTransferView(row);
    },

    async list(
      caller: Caller,
      query: { page_number: number; page_size: number },
    ): Promise<TransferList> {
      const { orgId } = requireApiKeyCaller(caller);
      const [rows, count] = await Promise.all([
        selectPayouts(db)
          .where("p.org_id", "=", orgId)
          .orderBy("p.created_at", "desc")
          .orderBy("p.seq", "desc")
          .limit(query.page_size)
          .offset((query.page_number - 1) * query.page_size)
          .execute(),
        db
          .selectFrom("payouts")
          .select((eb) => eb.fn.countAll<string>().as("n"))
          .where("org_id", "=", orgId)
          .executeTakeFirstOrThrow(),
      ]);
      return {
        items: (rows as PayoutRow[]).map(toTransferView),
        total_count: Number(count.n),
        page_number: query.page_number,
        page_size: query.page_size,
      };
    },

    /** The hot wallet's balances on every chain with an RPC URL, and what is in flight. */
    async wallet(caller: Caller): Promise<WalletView> {
      return walletOf(requireApiKeyCaller(caller).orgId);
    },

    /**
     * A withdrawal made (or approved) by a Studio member (payouts/withdrawal-service.ts): the
     * same limits, balance checks, reservation and sending as `transfer`, with no API key; the
     * withdrawal's own row and audit entry are written by `hooks` in the reserving transaction.
     */
    async sendForMember(
      orgId: number,
      transfer: ValidatedTransfer,
      hooks: ReserveRequest["hooks"],
    ): Promise<TransferResult> {
      const reserved = await reserve({
        orgId,
        apiKeyId: null,
        from: wallets.hotWallet(orgId).address,
        transfer,
        requestHash: transferRequestHash(transfer),
        idempotencyKey: undefined,
        hooks,
      });
      // Without an Idempotency-Key there is never a prior payout.
      if ("prior" in reserved) return replay(reserved.prior, reserved.prior.request_hash, orgId);
      return sender.send(reserved.row, orgId);
    },

    /** Sends a reserved payout nothing was signed for yet (a retry after a crash); else its result. */
    async resume(orgId: number, payoutId: string): Promise<TransferResult | undefined> {
      const row = (await selectPayouts(db)
        .where("p.org_id", "=", orgId)
        .where("p.id", "=", payoutId)
        .executeTakeFirst()) as PayoutRow | undefined;
      return row && replay(row, row.request_hash, orgId);
    },

    /** The hot wallet of an organisation (CLI: no caller). */
    walletOf,
  };
}

export type PayoutService = ReturnType<typeof createPayoutService>;
