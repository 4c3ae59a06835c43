import { type Kysely, type Selectable, sql } from "kysely";
import { type Actor, recordAudit } from "../../admin/audit-log.ts";
import { orgSuspended, type TenancyService } from "../../organizations/tenancy-service.ts";
import type { Database, PaymentLinksTable } from "../../platform/database/schema.ts";
import { DomainError, ErrorCode, notFound } from "../../platform/errors.ts";
import { newPaymentLinkId, PAYMENT_LINK_ID_PATTERN } from "../../platform/ids.ts";
import type { PaymentIntentService } from "../payment-intent-service.ts";
import { checkFiatAmount, type Fiat } from "../quote.ts";

export interface PaymentLink {
  id: string;
  fiat_amount: string;
  fiat_currency: Fiat;
  description: string;
  reusable: boolean;
  active: boolean;
  uses: number;
  /** A one-time link's intent, a reusable link's latest; null before the first open. */
  intent_id: string | null;
  created_at: string;
}

/** What opening a link leads to: the hosted checkout of an intent, or the "used" page. */
export type LinkOpening = { kind: "intent"; intentId: string } | { kind: "used" };

const toLink = (row: Selectable<PaymentLinksTable>): PaymentLink => ({
  id: row.id,
  fiat_amount: row.fiat_amount,
  fiat_currency: row.fiat_currency,
  description: row.description,
  reusable: row.reusable,
  active: row.active,
  uses: row.uses,
  intent_id: row.intent_id,
  created_at: new Date(row.created_at).toISOString(),
});

function orgHasNoClient(): DomainError {
  return new DomainError({
    status: 409,
    code: ErrorCode.orgHasNoClient,
    message: "the organisation has no client yet: create one (Developers) before payment links",
  });
}

// Thrown inside the intent's transaction when another open took a one-time link first.
class LinkTaken extends Error {}

/**
 * Payment links: a URL that opens the hosted checkout of a new intent for a fixed amount, so a
 * merchant can be paid with no code. A one-time link makes one intent, however many opens race.
 */
export function createPaymentLinks(options: {
  db: Kysely<Database>;
  intents: PaymentIntentService;
  tenancy: TenancyService;
}) {
  const { db, intents, tenancy } = options;

  async function find(id: string) {
    if (!PAYMENT_LINK_ID_PATTERN.test(id)) return undefined;
    return db.selectFrom("payment_links").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /** Where an already used one-time link leads: its intent while that waits for payment. */
  async function afterUse(intentId: string): Promise<LinkOpening> {
    const intent = await db
      .selectFrom("payment_intents")
      .select("status")
      .where("id", "=", intentId)
      .executeTakeFirst();
    return intent?.status === "pending" ? { kind: "intent", intentId } : { kind: "used" };
  }

  return {
    async create(
      orgId: number,
      input: { fiat_amount: string; fiat_currency: Fiat; description: string; reusable: boolean },
      actor: Actor,
    ): Promise<PaymentLink> {
      // Checked now rather than at the first open, where the payer could do nothing about it.
      checkFiatAmount(input.fiat_amount, input.fiat_currency);
      if ((await tenancy.listClients(orgId)).length === 0) throw orgHasNoClient();
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto("payment_links")
          .values({
            id: newPaymentLinkId(),
            org_id: orgId,
            fiat_amount: input.fiat_amount,
            fiat_currency: input.fiat_currency,
            description: input.description,
            reusable: input.reusable,
            created_by: actor.kind === "user" ? actor.userId : null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        const link = toLink(row);
        await recordAudit(trx, actor, {
          orgId,
          action: "payment_link.created",
          target: `payment_link:${row.id}`,
          after: input,
        });
        return link;
      });
    },

    async list(orgId: number, page: { page_number: number; page_size: number }) {
      const base = db.selectFrom("payment_links").where("org_id", "=", orgId);
      const [rows, count] = await Promise.all([
        base
          .selectAll()
          .orderBy("created_at", "desc")
          .orderBy("id")
          .limit(page.page_size)
          .offset((page.page_number - 1) * page.page_size)
          .execute(),
        base.select((eb) => eb.fn.countAll<string>().as("n")).executeTakeFirstOrThrow(),
      ]);
      return { items: rows.map(toLink), total_count: Number(count.n), ...page };
    },

    /** Turns a link off (its URL then answers 404) or back on. */
    async setActive(orgId: number, id: string, active: boolean, actor: Actor) {
      return db.transaction().execute(async (trx) => {
        const before = PAYMENT_LINK_ID_PATTERN.test(id)
          ? await trx
              .selectFrom("payment_links")
              .selectAll()
              .where("id", "=", id)
              .where("org_id", "=", orgId)
              .forUpdate()
              .executeTakeFirst()
          : undefined;
        if (!before) throw notFound(`payment link ${id.slice(0, 32)} not found`);
        if (before.active === active) return toLink(before);
        const row = await trx
          .updateTable("payment_links")
          .set({ active })
          .where("id", "=", id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await recordAudit(trx, actor, {
          orgId,
          action: active ? "payment_link.activated" : "payment_link.deactivated",
          target: `payment_link:${id}`,
          before: { active: before.active },
          after: { active },
        });
        return toLink(row);
      });
    },

    /**
     * A payer opens the link: a new intent (a reusable link, or a one-time link's first open),
     * or the one-time link's intent again while it waits for payment. Unknown or inactive: 404.
     */
    async open(id: string): Promise<LinkOpening> {
      const link = await find(id);
      if (!link?.active) throw notFound("this payment link does not exist or was turned off");
      // A suspended organisation's API keys and clients are refused; so are its links.
      const org = await db
        .selectFrom("organizations")
        .select("suspended_at")
        .where("id", "=", link.org_id)
        .executeTakeFirst();
      if (org?.suspended_at != null) throw orgSuspended();
      if (!link.reusable && link.intent_id !== null) return afterUse(link.intent_id);
      // The payer's browser, booked on the organisation's first client like a server call
      // without X-Client-ID; a link never sets a callback URL.
      const [client] = await tenancy.listClients(link.org_id);
      if (!client) throw orgHasNoClient();
      try {
        const intent = await intents.create(
          { kind: "browser", orgId: link.org_id, client, origin: "" },
          {
            fiat_amount: link.fiat_amount,
            fiat_currency: link.fiat_currency,
            order_data: { payment_link_id: link.id, description: link.description },
            ...(link.description === "" ? {} : { description: link.description }),
          },
          {
            cause: `payment_link:${link.id}`,
            // The claim: on PostgreSQL a second open waits here for the first's commit, then
            // finds the link taken and rolls its own intent back.
            async inTransaction(trx, intentId) {
              const claimed = await trx
                .updateTable("payment_links")
                .set({ intent_id: intentId, uses: sql<number>`uses + 1` })
                .where("id", "=", link.id)
                .where("active", "=", true)
                .where((eb) => eb.or([eb("reusable", "=", true), eb("intent_id", "is", null)]))
                .executeTakeFirst();
              if (claimed.numUpdatedRows === 0n) throw new LinkTaken();
            },
          },
        );
        return { kind: "intent", intentId: intent.payment_intent_id };
      } catch (err) {
        if (!(err instanceof LinkTaken)) throw err;
        const now = await find(id);
        if (!now?.active) throw notFound("this payment link was turned off");
        return now.intent_id === null ? { kind: "used" } : afterUse(now.intent_id);
      }
    },
  };
}

export type PaymentLinks = ReturnType<typeof createPaymentLinks>;
