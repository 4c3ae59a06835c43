import { type Kysely, sql } from "kysely";
import type { TenancyService } from "../organizations/tenancy-service.ts";
import { createTreasurySettings } from "../organizations/treasury-settings.ts";
import type { Database } from "../platform/database/schema.ts";
import { notFound } from "../platform/errors.ts";
import { assertFeeBps } from "../treasury/rules.ts";
import { type Actor, recordAudit } from "./audit-log.ts";
import type { TeamService } from "./team-service.ts";

function toWire(row: {
  id: number;
  name: string;
  default_chain_id: string;
  default_token_symbol: string;
  fee_bps: number;
  suspended_at: Date | string | null;
  members: number | string;
  created_at: Date | string;
}) {
  return {
    ...row,
    members: Number(row.members),
    suspended_at: row.suspended_at === null ? null : new Date(row.suspended_at).toISOString(),
    created_at: new Date(row.created_at).toISOString(),
  };
}

/** The operator's organisations: list, create (with an owner's invitation), rename, fee, suspend. */
export function createOperatorService(options: {
  db: Kysely<Database>;
  tenancy: TenancyService;
  team: TeamService;
  now?: () => Date;
}) {
  const { db, tenancy, team } = options;
  const now = options.now ?? (() => new Date());

  const organizations = (executor: Kysely<Database>) =>
    executor
      .selectFrom("organizations as o")
      .select([
        "o.id",
        "o.name",
        "o.default_chain_id",
        "o.default_token_symbol",
        "o.fee_bps",
        "o.suspended_at",
        "o.created_at",
        (eb) =>
          eb
            .selectFrom("memberships as m")
            .select(sql<string>`count(*)`.as("n"))
            .whereRef("m.org_id", "=", "o.id")
            .as("members"),
      ]);

  async function getOrganization(executor: Kysely<Database>, orgId: number) {
    const row = await organizations(executor).where("o.id", "=", orgId).executeTakeFirst();
    if (!row) throw notFound(`organisation ${orgId} not found`);
    return toWire({ ...row, members: row.members ?? 0 });
  }

  return {
    async list(page: { page_number: number; page_size: number }) {
      const [rows, count] = await Promise.all([
        organizations(db)
          .orderBy("o.id")
          .limit(page.page_size)
          .offset((page.page_number - 1) * page.page_size)
          .execute(),
        db
          .selectFrom("organizations")
          .select((eb) => eb.fn.countAll<string>().as("n"))
          .executeTakeFirstOrThrow(),
      ]);
      return {
        items: rows.map((r) => toWire({ ...r, members: r.members ?? 0 })),
        total_count: Number(count.n),
        ...page,
      };
    },

    /**
     * A new organisation and an invitation for its owner. tenancy creates the organisation with
     * its webhook secret in a transaction of its own; if the invitation then failed, the
     * organisation stays without members and an operator invites its owner from its team page.
     */
    async create(
      actor: Actor,
      input: {
        name: string;
        defaultChainId: string;
        defaultTokenSymbol: string;
        feeBps: number | undefined;
        ownerEmail: string;
      },
    ) {
      if (input.feeBps !== undefined) assertFeeBps(input.feeBps);
      const org = await tenancy.createOrganization({
        name: input.name,
        defaultChainId: input.defaultChainId,
        defaultTokenSymbol: input.defaultTokenSymbol,
      });
      return db.transaction().execute(async (trx) => {
        if (input.feeBps !== undefined) {
          await createTreasurySettings({ db: trx }).setFee(org.id, input.feeBps);
        }
        const created = await getOrganization(trx, org.id);
        await recordAudit(trx, actor, {
          orgId: org.id,
          action: "organization.created",
          target: `organization:${org.id}`,
          after: {
            name: created.name,
            default_chain_id: created.default_chain_id,
            default_token_symbol: created.default_token_symbol,
            fee_bps: created.fee_bps,
          },
        });
        const invitation = await team.invite(trx, actor, {
          orgId: org.id,
          email: input.ownerEmail,
          role: "owner",
        });
        return { organization: created, invitation };
      });
    },

    async update(
      actor: Actor,
      orgId: number,
      input: {
        name?: string | undefined;
        feeBps?: number | undefined;
        suspended?: boolean | undefined;
      },
    ) {
      return db.transaction().execute(async (trx) => {
        const before = await getOrganization(trx, orgId);
        const set: { name?: string; suspended_at?: Date | null } = {};
        if (input.name !== undefined) set.name = input.name;
        if (input.suspended !== undefined && input.suspended !== (before.suspended_at !== null)) {
          set.suspended_at = input.suspended ? now() : null;
        }
        if (Object.keys(set).length > 0) {
          await trx.updateTable("organizations").set(set).where("id", "=", orgId).execute();
          // A suspension refuses the organisation's keys on every process.
          await tenancy.changed(trx, orgId);
        }
        if (input.feeBps !== undefined) {
          await createTreasurySettings({ db: trx }).setFee(orgId, input.feeBps);
        }
        const after = await getOrganization(trx, orgId);
        const changed = (["name", "fee_bps", "suspended_at"] as const).filter(
          (k) => before[k] !== after[k],
        );
        if (changed.length > 0) {
          await recordAudit(trx, actor, {
            orgId,
            action:
              changed.length === 1 && changed[0] === "suspended_at"
                ? after.suspended_at === null
                  ? "organization.unsuspended"
                  : "organization.suspended"
                : "organization.updated",
            target: `organization:${orgId}`,
            before: Object.fromEntries(changed.map((k) => [k, before[k]])),
            after: Object.fromEntries(changed.map((k) => [k, after[k]])),
          });
        }
        return after;
      });
    },
  };
}
