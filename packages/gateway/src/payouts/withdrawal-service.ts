import Big from "big.js";
import { type Kysely, type Selectable, sql, type Transaction } from "kysely";
import { formatEther, getAddress } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import type { Actor } from "../admin/audit-log.ts";
import { recordAudit } from "../admin/audit-log.ts";
import type { OrgRole } from "../admin/roles.ts";
import { verifySecondFactor } from "../admin/second-factor.ts";
import { type ChainRegistry, explorerTxUrl, findToken } from "../chain/chain-registry.ts";
import type { TxManager } from "../chain/tx-manager/tx-manager.ts";
import { readOrgLimits } from "../organizations/transfer-limits.ts";
import { formatTokenAmount } from "../payments/money.ts";
import type { Database, WithdrawalsTable } from "../platform/database/schema.ts";
import { DomainError, ErrorCode, validationError } from "../platform/errors.ts";
import { createBalanceCheck } from "./check-balances.ts";
import { checkTransferLimits, spentToday } from "./check-transfer-limits.ts";
import { tokenBalanceOf, transferCalldata } from "./erc20.ts";
import { inFlightPayouts } from "./payout-queries.ts";
import type { PayoutService } from "./payout-service.ts";
import {
  transferRequestHash,
  type ValidatedTransfer,
  validateIdempotencyKey,
  validateTransfer,
} from "./validate-transfer.ts";
import type {
  CreateWithdrawalBody,
  WithdrawalList,
  WithdrawalPreview,
  WithdrawalRequest,
  WithdrawalState,
  WithdrawalView,
} from "./withdrawal-schemas.ts";

/** The signed-in member acting on an organisation (an operator acts as "operator"). */
export interface Member {
  userId: number;
  role: OrgRole | "operator";
  actor: Actor;
}

type WithdrawalRow = Selectable<WithdrawalsTable>;

// Owners (and operators, who may do what owners do) confirm money moves with their TOTP code
// (issue 12); admins' sessions alone suffice, and a second member checks them above the threshold.
const needsSecondFactor = (m: Member) => m.role === "owner" || m.role === "operator";

function withdrawalNotFound(id: string): DomainError {
  return new DomainError({
    status: 404,
    code: ErrorCode.withdrawalNotFound,
    message: `withdrawal ${id.slice(0, 64)} not found`,
  });
}

function notAwaitingApproval(status: string): DomainError {
  return new DomainError({
    status: 409,
    code: ErrorCode.withdrawalNotAwaitingApproval,
    message: `this withdrawal is not awaiting approval (it was ${status === "sent" ? "approved and sent" : status})`,
    data: { status },
  });
}

/** The Studio form's field names on the transfer API's validation errors. */
const WIRE_FIELDS: Record<string, string> = {
  contract_address: "token",
  wallet_address: "to_address",
};

function validateWithdrawal(chains: ChainRegistry, input: WithdrawalRequest): ValidatedTransfer {
  const key = chains.canonicalKey(input.chain_id);
  const chain = chains.list().find((c) => c.key === key);
  const bySymbol = chain === undefined ? undefined : findToken(chain, input.token);
  if (chain && !bySymbol && !input.token.startsWith("0x")) {
    throw validationError(
      "token",
      `${JSON.stringify(input.token.slice(0, 64))} is not a token on chain ${chain.key} (${chain.tokens.map((t) => t.symbol).join(", ")})`,
    );
  }
  try {
    return validateTransfer(chains, {
      chain_id: input.chain_id,
      contract_address: bySymbol?.address ?? input.token,
      amount: input.amount,
      wallet_address: input.to_address,
    });
  } catch (err) {
    const field = err instanceof DomainError ? err.data?.field : undefined;
    const wire = typeof field === "string" ? WIRE_FIELDS[field] : undefined;
    if (!(err instanceof DomainError) || wire === undefined) throw err;
    throw validationError(wire, err.message.slice(String(field).length + 2));
  }
}

const isUniqueViolation = (err: unknown) =>
  typeof err === "object" && err !== null && (err as { code?: unknown }).code === "23505";

/** Thrown inside a reservation to abort it: the idempotency key is already a withdrawal. */
class AlreadyMade extends Error {
  constructor(readonly row: WithdrawalRow) {
    super("withdrawal already made with this idempotency key");
  }
}

/**
 * Withdrawals made in Studio. At or below the organisation's approval threshold one is sent at
 * once; above it, it waits (nothing signed) until another member approves it. Either way the
 * money moves through payouts/ exactly as an API transfer does (PayoutService.sendForMember): the
 * same limits, balance checks, reservation under the organisation's lock, and exactly-once
 * sending; the withdrawal row, its state guard and the audit entry are written in the reserving
 * transaction.
 */
export function createWithdrawalService(options: {
  db: Kysely<Database>;
  chains: ChainRegistry;
  payouts: PayoutService;
  txManager: Pick<TxManager, "estimate" | "client">;
  wallets: { hotWallet(orgId: number): PrivateKeyAccount };
  now?: () => Date;
}) {
  const { db, chains, payouts, txManager, wallets } = options;
  const now = options.now ?? (() => new Date());
  const checkBalances = createBalanceCheck({ txManager });

  const txState = sql<WithdrawalState>`case when t.state = 'confirmed' then 'confirmed' when t.state = 'failed' then 'failed' else 'submitted' end`;

  // Studio's withdrawals and the API's transfers (payouts with an API key), one shape.
  function allWithdrawals(orgId: number) {
    const studio = db
      .selectFrom("withdrawals as w")
      .leftJoin("payouts as p", "p.id", "w.payout_id")
      .leftJoin("chain_txs as t", "t.id", "p.chain_tx_id")
      .leftJoin("users as ru", "ru.id", "w.requested_by")
      .leftJoin("users as au", "au.id", "w.approved_by")
      .leftJoin("users as xu", "xu.id", "w.rejected_by")
      .where("w.org_id", "=", orgId)
      .select([
        sql<string>`cast(w.id as text)`.as("id"),
        sql<"studio" | "api">`'studio'`.as("source"),
        "w.chain_id",
        "w.token_address",
        "w.symbol",
        "w.decimals",
        "w.amount",
        "w.to_address",
        sql<WithdrawalState>`case when w.status <> 'sent' then w.status when p.id is null then 'failed' else ${txState} end`.as(
          "status",
        ),
        "ru.email as requested_by",
        "au.email as approved_by",
        "xu.email as rejected_by",
        "w.reject_reason",
        "w.payout_id as transfer_id",
        "t.tx_hash",
        // A reservation released after a crash before signing (payouts/send-payout.ts).
        sql<
          string | null
        >`case when w.status = 'sent' and p.id is null then 'nothing was signed: the gateway stopped before sending it; make the withdrawal again' else t.error end`.as(
          "error",
        ),
        "w.created_at",
      ]);
    const api = db
      .selectFrom("payouts as p")
      .leftJoin("chain_txs as t", "t.id", "p.chain_tx_id")
      .leftJoin("api_keys as k", "k.id", "p.api_key_id")
      .where("p.org_id", "=", orgId)
      .where("p.api_key_id", "is not", null)
      .select([
        "p.id as id",
        sql<"studio" | "api">`'api'`.as("source"),
        "p.chain_id",
        "p.token_address",
        "p.symbol",
        "p.decimals",
        "p.amount",
        "p.to_address",
        txState.as("status"),
        sql<string | null>`'API key ' || k.name`.as("requested_by"),
        sql<string | null>`null`.as("approved_by"),
        sql<string | null>`null`.as("rejected_by"),
        sql<string | null>`null`.as("reject_reason"),
        sql<string | null>`p.id`.as("transfer_id"),
        "t.tx_hash",
        "t.error",
        "p.created_at",
      ]);
    return db.selectFrom(studio.unionAll(api).as("x"));
  }

  type ListedRow = Awaited<
    ReturnType<ReturnType<ReturnType<typeof allWithdrawals>["selectAll"]>["execute"]>
  >[number];

  function toView(r: ListedRow): WithdrawalView {
    return {
      id: r.id,
      source: r.source,
      chain_id: r.chain_id,
      token: r.symbol,
      contract_address: r.token_address,
      amount: formatTokenAmount(BigInt(r.amount), r.decimals),
      to_address: r.to_address,
      status: r.status,
      requested_by: r.requested_by,
      approved_by: r.approved_by,
      rejected_by: r.rejected_by,
      reject_reason: r.reject_reason,
      transfer_id: r.transfer_id,
      tx_hash: r.tx_hash,
      explorer_url: explorerTxUrl(chains, r.chain_id, r.tx_hash),
      error: r.error,
      created_at: new Date(r.created_at).toISOString(),
    };
  }

  async function get(orgId: number, id: string): Promise<WithdrawalView> {
    const row = await allWithdrawals(orgId)
      .selectAll()
      .where("x.id", "=", id.slice(0, 64))
      .executeTakeFirst();
    if (!row) throw withdrawalNotFound(id);
    return toView(row);
  }

  async function studioRow(orgId: number, id: string): Promise<WithdrawalRow> {
    const row = /^[0-9]{1,15}$/.test(id)
      ? await db
          .selectFrom("withdrawals")
          .selectAll()
          .where("org_id", "=", orgId)
          .where("id", "=", Number(id))
          .executeTakeFirst()
      : undefined;
    if (!row) throw withdrawalNotFound(id);
    return row;
  }

  /** The transfer a stored withdrawal asks for, as the reservation checks it. */
  function transferOf(row: WithdrawalRow): ValidatedTransfer {
    const chain = chains.get(row.chain_id);
    const token = chain.tokens.find((t) => t.address === row.token_address);
    if (!token) {
      throw validationError("token", `${row.symbol} is no longer registered on ${chain.key}`);
    }
    return { chain, token, amount: BigInt(row.amount), to: getAddress(row.to_address) };
  }

  const lockWithdrawal = (trx: Transaction<Database>, id: string) =>
    trx
      .selectFrom("withdrawals")
      .selectAll()
      .where("id", "=", Number(id))
      .forUpdate()
      .executeTakeFirstOrThrow();

  /** A send that failed before anything was signed (the reservation was released). */
  async function nothingSent(row: WithdrawalRow): Promise<boolean> {
    const after = await db
      .selectFrom("withdrawals")
      .select("payout_id")
      .where("id", "=", row.id)
      .executeTakeFirst();
    return after?.payout_id === null;
  }

  async function needsApproval(orgId: number, v: ValidatedTransfer): Promise<boolean> {
    const { withdrawal_approval_threshold: threshold } = await readOrgLimits(db, orgId);
    return (
      threshold !== null &&
      new Big(formatTokenAmount(v.amount, v.token.decimals)).gt(new Big(threshold))
    );
  }

  /** The same key again: the first withdrawal (sent now if a crash left it unsigned). */
  async function replay(row: WithdrawalRow, hash: string): Promise<WithdrawalView> {
    if (row.request_hash !== hash) {
      throw new DomainError({
        status: 409,
        code: ErrorCode.idempotencyKeyReused,
        message: `idempotency_key ${JSON.stringify(row.idempotency_key)} was used for a different withdrawal (${row.id})`,
        data: { field: "idempotency_key", id: String(row.id) },
      });
    }
    if (row.payout_id !== null) await payouts.resume(row.org_id, row.payout_id);
    return get(row.org_id, String(row.id));
  }

  const findByKey = (q: Kysely<Database>, orgId: number, key: string) =>
    q
      .selectFrom("withdrawals")
      .selectAll()
      .where("org_id", "=", orgId)
      .where("idempotency_key", "=", key)
      .executeTakeFirst();

  const audited = (v: ValidatedTransfer) => ({
    chain_id: v.chain.key,
    token: v.token.symbol,
    amount: formatTokenAmount(v.amount, v.token.decimals),
    to_address: v.to,
  });

  return {
    get,

    /**
     * Every withdrawal created in [from, to), oldest first, read in batches: the CSV export,
     * which must show what the list shows.
     */
    async *all(orgId: number, range: { from?: Date; to?: Date }): AsyncGenerator<WithdrawalView> {
      const batch = 1000;
      let after: { at: Date; id: string } | undefined;
      for (;;) {
        let q = allWithdrawals(orgId).selectAll();
        if (range.from) q = q.where("x.created_at", ">=", range.from);
        if (range.to) q = q.where("x.created_at", "<", range.to);
        if (after) {
          const { at, id } = after;
          q = q.where(sql<boolean>`(x.created_at, x.id) > (${at}, ${id})`);
        }
        const rows = await q.orderBy("x.created_at").orderBy("x.id").limit(batch).execute();
        for (const r of rows) yield toView(r);
        const last = rows.at(-1);
        if (rows.length < batch || !last) return;
        after = { at: new Date(last.created_at), id: last.id };
      }
    },

    async list(
      orgId: number,
      query: { status?: WithdrawalState[]; page_number: number; page_size: number },
    ): Promise<WithdrawalList> {
      let q = allWithdrawals(orgId);
      if (query.status?.length) q = q.where("x.status", "in", query.status);
      const [rows, count] = await Promise.all([
        q
          .selectAll()
          .orderBy("x.created_at", "desc")
          .orderBy("x.id", "desc")
          .limit(query.page_size)
          .offset((query.page_number - 1) * query.page_size)
          .execute(),
        q.select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow(),
      ]);
      return {
        items: rows.map(toView),
        total_count: Number(count.n),
        page_number: query.page_number,
        page_size: query.page_size,
      };
    },

    /** What a withdrawal would meet now: balances, gas, limits, approval. No side effect. */
    async preview(
      orgId: number,
      member: Member,
      input: WithdrawalRequest,
    ): Promise<WithdrawalPreview> {
      const v = validateWithdrawal(chains, input);
      const from = wallets.hotWallet(orgId).address;
      const client = txManager.client(v.chain.key);
      const problems: WithdrawalPreview["problems"] = [];
      const asProblem = (err: unknown) => {
        if (!(err instanceof DomainError)) throw err;
        problems.push({
          code: err.code,
          message: err.message,
          ...(err.data ? { data: err.data } : {}),
        });
      };
      const [balance, gasBalance, fee] = await Promise.all([
        tokenBalanceOf(client, v.token.address, from).catch(() => null),
        client.getBalance({ address: from }).catch(() => null),
        txManager
          .estimate({ chainKey: v.chain.key, from, to: v.token.address, data: transferCalldata(v) })
          .then((e) => e.maxCost)
          .catch(() => null),
      ]);
      const limits = await readOrgLimits(db, orgId);
      // Read-only: the same checks a create runs, in a transaction that writes nothing.
      const { sent, inFlight } = await db.transaction().execute(async (trx) => {
        await checkTransferLimits(trx, { orgId, apiKeyId: null }, v, now()).catch(asProblem);
        await checkBalances(trx, orgId, from, v).catch(asProblem);
        const flight = await inFlightPayouts(trx, orgId)
          .select(sql<string | null>`sum(p.amount)`.as("total"))
          .where("p.chain_id", "=", v.chain.key)
          .where("p.token_address", "=", v.token.address)
          .executeTakeFirstOrThrow();
        return {
          sent: await spentToday(trx, { orgId, now: now() }),
          inFlight: BigInt(flight.total ?? "0"),
        };
      });
      const approval = await needsApproval(orgId, v);
      if (approval && needsSecondFactor(member)) {
        await verifySecondFactor(db, member.userId, "").catch((err: unknown) => {
          // Only "no second factor set up" is a problem now; the code is asked at create.
          if (err instanceof DomainError && err.code === ErrorCode.secondFactorMissing) {
            asProblem(err);
          }
        });
      }
      const cap = limits.daily_transfer_cap;
      const remaining = cap === null ? null : new Big(cap).minus(sent);
      return {
        balance: balance === null ? null : formatTokenAmount(balance, v.token.decimals),
        in_flight: formatTokenAmount(inFlight, v.token.decimals),
        fee_estimate: fee === null ? null : formatEther(fee),
        gas_balance: gasBalance === null ? null : formatEther(gasBalance),
        hot_wallet_address: from,
        needs_approval: approval,
        limits: {
          ...limits,
          sent_today: sent.toFixed(),
          remaining_today:
            remaining === null ? null : (remaining.gt(0) ? remaining : new Big(0)).toFixed(),
        },
        problems,
      };
    },

    async create(
      orgId: number,
      member: Member,
      input: CreateWithdrawalBody,
    ): Promise<WithdrawalView> {
      const v = validateWithdrawal(chains, input);
      try {
        validateIdempotencyKey(input.idempotency_key);
      } catch {
        throw validationError("idempotency_key", "must be 1-255 visible ASCII characters");
      }
      const key = input.idempotency_key;
      const hash = transferRequestHash(v);
      const prior = await findByKey(db, orgId, key);
      if (prior) return replay(prior, hash);
      const row = {
        org_id: orgId,
        chain_id: v.chain.key,
        token_address: v.token.address,
        symbol: v.token.symbol,
        decimals: v.token.decimals,
        amount: v.amount,
        to_address: v.to,
        requested_by: member.userId,
        idempotency_key: key,
        request_hash: hash,
      };

      if (await needsApproval(orgId, v)) {
        if (needsSecondFactor(member)) {
          await verifySecondFactor(db, member.userId, input.totp_code);
        }
        try {
          const id = await db.transaction().execute(async (trx) => {
            // Refused now rather than at approval, when the limits already forbid it.
            await checkTransferLimits(trx, { orgId, apiKeyId: null }, v, now());
            const made = await trx
              .insertInto("withdrawals")
              .values({ ...row, status: "awaiting_approval" })
              .returning("id")
              .executeTakeFirstOrThrow();
            await recordAudit(trx, member.actor, {
              orgId,
              action: "withdrawal.requested",
              target: `withdrawal:${made.id}`,
              after: { ...audited(v), status: "awaiting_approval" },
            });
            return String(made.id);
          });
          return get(orgId, id);
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          const raced = await findByKey(db, orgId, key);
          if (!raced) throw err;
          return replay(raced, hash);
        }
      }

      // Set by the reservation's transaction (a closure: TypeScript cannot follow a plain let).
      const made: { id?: string } = {};
      try {
        await payouts.sendForMember(orgId, v, {
          // Under the organisation's lock: a concurrent request with the same key went first.
          before: async (trx) => {
            const first = await findByKey(trx, orgId, key);
            if (first) throw new AlreadyMade(first);
          },
          after: async (trx, payout) => {
            const inserted = await trx
              .insertInto("withdrawals")
              .values({ ...row, status: "sent", payout_id: payout.id })
              .returning("id")
              .executeTakeFirstOrThrow();
            made.id = String(inserted.id);
            await recordAudit(trx, member.actor, {
              orgId,
              action: "withdrawal.sent",
              target: `withdrawal:${made.id}`,
              after: { ...audited(v), transfer_id: payout.id },
            });
          },
        });
      } catch (err) {
        if (err instanceof AlreadyMade) return replay(err.row, hash);
        if (made.id !== undefined) await forgetUnsent(orgId, member, made.id, err);
        throw err;
      }
      return get(orgId, made.id ?? "");
    },

    async approve(
      orgId: number,
      id: string,
      member: Member,
      totpCode: string | undefined,
    ): Promise<WithdrawalView> {
      const row = await studioRow(orgId, id);
      if (row.requested_by === member.userId) {
        throw new DomainError({
          status: 403,
          code: ErrorCode.approverIsRequester,
          message: "another member must approve this withdrawal: you asked for it",
        });
      }
      if (row.status !== "awaiting_approval") throw notAwaitingApproval(row.status);
      if (needsSecondFactor(member)) await verifySecondFactor(db, member.userId, totpCode);
      const v = transferOf(row);
      const reserved = { done: false };
      try {
        await payouts.sendForMember(orgId, v, {
          // Two approvals at once: the second finds it sent and changes nothing.
          before: async (trx) => {
            const locked = await lockWithdrawal(trx, String(row.id));
            if (locked.status !== "awaiting_approval") throw notAwaitingApproval(locked.status);
          },
          after: async (trx, payout) => {
            await trx
              .updateTable("withdrawals")
              .set({
                status: "sent",
                approved_by: member.userId,
                decided_at: now(),
                payout_id: payout.id,
              })
              .where("id", "=", row.id)
              .execute();
            reserved.done = true;
            await recordAudit(trx, member.actor, {
              orgId,
              action: "withdrawal.approved",
              target: `withdrawal:${row.id}`,
              before: { status: "awaiting_approval" },
              after: { ...audited(v), status: "sent", transfer_id: payout.id },
            });
          },
        });
      } catch (err) {
        if (reserved.done && (await nothingSent(row))) {
          // Nothing was signed (balance moved, RPC down): it waits for approval again.
          await db.transaction().execute(async (trx) => {
            await trx
              .updateTable("withdrawals")
              .set({ status: "awaiting_approval", approved_by: null, decided_at: null })
              .where("id", "=", row.id)
              .where("payout_id", "is", null)
              .execute();
            await recordAudit(trx, member.actor, {
              orgId,
              action: "withdrawal.approval_failed",
              target: `withdrawal:${row.id}`,
              after: { status: "awaiting_approval", error: (err as Error).message },
            });
          });
        }
        throw err;
      }
      return get(orgId, String(row.id));
    },

    async reject(
      orgId: number,
      id: string,
      member: Member,
      reason: string,
    ): Promise<WithdrawalView> {
      const row = await studioRow(orgId, id);
      await db.transaction().execute(async (trx) => {
        const locked = await lockWithdrawal(trx, String(row.id));
        if (locked.status !== "awaiting_approval") throw notAwaitingApproval(locked.status);
        await trx
          .updateTable("withdrawals")
          .set({
            status: "rejected",
            rejected_by: member.userId,
            reject_reason: reason,
            decided_at: now(),
          })
          .where("id", "=", row.id)
          .execute();
        await recordAudit(trx, member.actor, {
          orgId,
          action: "withdrawal.rejected",
          target: `withdrawal:${row.id}`,
          before: { status: "awaiting_approval" },
          after: { status: "rejected", reason },
        });
      });
      return get(orgId, String(row.id));
    },
  };

  /** A withdrawal sent at once whose sending failed before signing: as if never made. */
  async function forgetUnsent(orgId: number, member: Member, id: string, err: unknown) {
    const row = await db
      .selectFrom("withdrawals")
      .selectAll()
      .where("id", "=", Number(id))
      .executeTakeFirst();
    if (!row || !(await nothingSent(row))) return;
    await db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom("withdrawals")
        .where("id", "=", Number(id))
        .where("payout_id", "is", null)
        .execute();
      await recordAudit(trx, member.actor, {
        orgId,
        action: "withdrawal.unsent",
        target: `withdrawal:${id}`,
        after: { error: (err as Error).message },
      });
    });
  }
}

export type WithdrawalService = ReturnType<typeof createWithdrawalService>;
