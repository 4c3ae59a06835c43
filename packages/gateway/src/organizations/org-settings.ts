import type { Kysely } from "kysely";
import { type Actor, recordAudit } from "../admin/audit-log.ts";
import type { ChainRegistry } from "../chain/chain-registry.ts";
import type { Database } from "../platform/database/schema.ts";
import { notFound, validationError } from "../platform/errors.ts";
import { type Asset, acceptedAssets, assetKey, checkAcceptedAssets } from "./accepted-assets.ts";
import { decodeLogo, storeLogo } from "./checkout-logos.ts";

export interface OrgSettings {
  name: string;
  default_chain_id: string;
  default_token_symbol: string;
  /** The chains and tokens payers may pay in, the default pair first. */
  accepted_assets: Asset[];
  branding: {
    /** Shown to payers instead of the organisation's name; null: the name. */
    display_name: string | null;
    logo_url: string | null;
    /** `#rrggbb`. */
    accent_color: string | null;
  };
}

export interface OrgSettingsChanges {
  name?: string;
  default_chain_id?: string;
  default_token_symbol?: string;
  /** The whole new set (the default pair is always part of it). */
  accepted_assets?: Asset[];
  branding?: Partial<OrgSettings["branding"]>;
}

// The whole data: URL, so that it fits in a request under the default 64 KiB body limit.
export const LOGO_DATA_URL_MAX_CHARS = 64_000;
// Raster images only: an SVG can carry script, and the logo is shown on the payer's page.
const LOGO_DATA_URL = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}$/;
const ACCENT_COLOR = /^#[0-9a-f]{6}$/;

/**
 * A small data: image (PNG, JPEG, GIF or WebP). Uploads only: the checkout shows the gateway's
 * stored copy (its CSP allows no other image host), and fetching a merchant's https URL from
 * the gateway would be one more way into the operator's network (docs/decisions.md).
 */
export function checkLogoUrl(input: string): string {
  if (!input.startsWith("data:")) {
    throw validationError(
      "branding.logo_url",
      "upload the image as a data: URL (a base64 PNG, JPEG, GIF or WebP): the checkout serves logos itself and shows no image from another host",
    );
  }
  if (input.length > LOGO_DATA_URL_MAX_CHARS) {
    throw validationError(
      "branding.logo_url",
      `a data: image must be at most ${LOGO_DATA_URL_MAX_CHARS} characters (about 47 KB)`,
    );
  }
  if (!LOGO_DATA_URL.test(input)) {
    throw validationError(
      "branding.logo_url",
      "a data: URL must be a base64 PNG, JPEG, GIF or WebP image (data:image/png;base64,...)",
    );
  }
  return input;
}

function text(value: string, field: string, max: number): string {
  const trimmed = value.trim();
  if (trimmed.length === 0 || trimmed.length > max) {
    throw validationError(field, `must be 1-${max} characters`);
  }
  return trimmed;
}

/** Changed fields only, for the audit row (a logo is recorded by its length, not its bytes). */
function changedFields(before: OrgSettings, after: OrgSettings) {
  const flat = (s: OrgSettings) => ({
    name: s.name,
    default_chain_id: s.default_chain_id,
    default_token_symbol: s.default_token_symbol,
    accepted_assets: s.accepted_assets.map(assetKey).join(","),
    display_name: s.branding.display_name,
    logo_url:
      s.branding.logo_url?.startsWith("data:") === true
        ? `data: (${s.branding.logo_url.length} characters)`
        : s.branding.logo_url,
    accent_color: s.branding.accent_color,
  });
  const b = flat(before);
  const a = flat(after);
  const keys = (Object.keys(a) as (keyof typeof a)[]).filter((k) => a[k] !== b[k]);
  return {
    before: Object.fromEntries(keys.map((k) => [k, b[k]])),
    after: Object.fromEntries(keys.map((k) => [k, a[k]])),
  };
}

/**
 * An organisation's settings: its name, the default chain and token of its payments, and the
 * branding the hosted checkout shows payers.
 */
export function createOrgSettings({
  db,
  chains,
  changed,
}: {
  db: Kysely<Database>;
  chains: ChainRegistry;
  /** Tells every process's tenancy cache, in the transaction, that the defaults changed. */
  changed: (trx: Kysely<Database>, orgId: number) => Promise<void>;
}) {
  async function read(q: Kysely<Database>, orgId: number, lock = false): Promise<OrgSettings> {
    let query = q
      .selectFrom("organizations")
      .select([
        "name",
        "default_chain_id",
        "default_token_symbol",
        "accepted_assets",
        "display_name",
        "logo_url",
        "accent_color",
      ])
      .where("id", "=", orgId);
    if (lock) query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (!row) throw notFound(`organization ${orgId} not found`);
    return {
      name: row.name,
      default_chain_id: row.default_chain_id,
      default_token_symbol: row.default_token_symbol,
      accepted_assets: acceptedAssets(row),
      branding: {
        display_name: row.display_name,
        logo_url: row.logo_url,
        accent_color: row.accent_color,
      },
    };
  }

  return {
    get: (orgId: number) => read(db, orgId),

    /** Changes what is given (a branding field set to null goes back to the default). */
    async update(orgId: number, changes: OrgSettingsChanges, actor: Actor): Promise<OrgSettings> {
      const branding = changes.branding ?? {};
      const set = {
        ...(changes.name === undefined ? {} : { name: text(changes.name, "name", 200) }),
        ...(branding.display_name === undefined
          ? {}
          : {
              display_name:
                branding.display_name === null
                  ? null
                  : text(branding.display_name, "branding.display_name", 100),
            }),
        ...(branding.logo_url === undefined
          ? {}
          : { logo_url: branding.logo_url === null ? null : checkLogoUrl(branding.logo_url) }),
        ...(branding.accent_color === undefined
          ? {}
          : { accent_color: branding.accent_color?.toLowerCase() ?? null }),
      };
      if (set.accent_color != null && !ACCENT_COLOR.test(set.accent_color)) {
        throw validationError("branding.accent_color", "must be a colour like #1a2b3c");
      }
      // Decoded and checked before the transaction: its bytes must be the image it claims.
      const logo = typeof set.logo_url === "string" ? decodeLogo(set.logo_url) : set.logo_url;
      return db.transaction().execute(async (trx) => {
        const before = await read(trx, orgId, true);
        // Aliases (matic) are stored under the canonical key, symbols as the registry spells them.
        let chainId = changes.default_chain_id ?? before.default_chain_id;
        let symbol = changes.default_token_symbol ?? before.default_token_symbol;
        if (changes.default_chain_id !== undefined || changes.default_token_symbol !== undefined) {
          const key = chains.canonicalKey(chainId);
          if (key === undefined) {
            throw validationError("default_chain_id", `${chainId} is not a chain of this gateway`);
          }
          chainId = key;
          try {
            symbol = chains.token(chainId, symbol).symbol;
          } catch {
            throw validationError(
              "default_token_symbol",
              `${symbol} is not available on chain ${chainId}`,
            );
          }
        }
        const accepted =
          changes.accepted_assets === undefined
            ? {}
            : {
                accepted_assets: checkAcceptedAssets(chains, changes.accepted_assets, {
                  chain_id: chainId,
                  symbol,
                }),
              };
        const logoSha256 =
          logo === undefined ? {} : { logo_sha256: logo && (await storeLogo(trx, logo)) };
        await trx
          .updateTable("organizations")
          .set({
            ...set,
            ...accepted,
            ...logoSha256,
            default_chain_id: chainId,
            default_token_symbol: symbol,
          })
          .where("id", "=", orgId)
          .execute();
        const after = await read(trx, orgId);
        await changed(trx, orgId);
        const diff = changedFields(before, after);
        if (Object.keys(diff.after).length > 0) {
          await recordAudit(trx, actor, {
            orgId,
            action: "organization.settings_changed",
            target: `org:${orgId}`,
            ...diff,
          });
        }
        return after;
      });
    },
  };
}

export type OrgSettingsService = ReturnType<typeof createOrgSettings>;
