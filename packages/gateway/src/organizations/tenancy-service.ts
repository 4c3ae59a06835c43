import { createHash } from "node:crypto";
import { type Kysely, type Selectable, sql, type Updateable } from "kysely";
import { type Actor, recordAudit } from "../admin/audit-log.ts";
import type { ChainRegistry } from "../chain/chain-registry.ts";
import type { ClientsTable, Database } from "../platform/database/schema.ts";
import {
  DomainError,
  ErrorCode,
  invalidApiKey,
  invalidClientId,
  notFound,
  originNotAllowed,
  validationError,
} from "../platform/errors.ts";
import { CLIENT_ID_PATTERN, newApiKeySecret, newClientId } from "../platform/ids.ts";
import { createTenancyCache, type TenancyCache } from "./tenancy-cache.ts";
import { parseTransferLimits, type TransferLimits } from "./transfer-limits.ts";
import type { WebhookSecrets } from "./webhook-secrets.ts";

export interface Client {
  clientId: string;
  orgId: number;
  name: string;
  allowedOrigins: string[];
  /** Hosts a browser create may send callback_url to: `*` any, empty none (API key calls: any). */
  allowedCallbackHosts: string[];
  createdAt: Date;
}

const toClient = (row: Selectable<ClientsTable>): Client => ({
  clientId: row.client_id,
  orgId: row.org_id,
  name: row.name,
  allowedOrigins: row.allowed_origins,
  allowedCallbackHosts: row.allowed_callback_hosts,
  createdAt: new Date(row.created_at),
});

/** What an audit row records of a client (all of it: a client holds no secret). */
const auditedClient = (c: Client) => ({
  name: c.name,
  allowed_origins: c.allowedOrigins,
  allowed_callback_hosts: c.allowedCallbackHosts,
});

/** What a change of a client may set: each list is replaced whole. */
export interface ClientChanges {
  name?: string;
  allowedOrigins?: string[];
  allowedCallbackHosts?: string[];
}

/**
 * Where a change of a key or a client may reach. The admin API passes the organisation of its
 * URL, so an id of another organisation is not found; the CLI (the operator) passes none.
 */
export interface Scope {
  orgId?: number;
  /** Who made the change, for the audit row written in the same transaction. */
  actor?: Actor;
}

export interface ApiKeyInfo {
  id: number;
  name: string;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
  max_transfer_amount: string | null;
  daily_transfer_cap: string | null;
}

// last_used_at is written at most this often per key, so using a key costs no write per request.
const KEY_USE_WRITE_EVERY_MS = 60_000;
const NAME_MAX_CHARS = 200;

function nameOf(input: string, field = "name"): string {
  const name = input.trim();
  if (name.length === 0 || name.length > NAME_MAX_CHARS) {
    throw validationError(field, `must be 1-${NAME_MAX_CHARS} characters`);
  }
  return name;
}

async function audit(
  trx: Kysely<Database>,
  scope: Scope,
  entry: Parameters<typeof recordAudit>[2],
): Promise<void> {
  if (scope.actor) await recordAudit(trx, scope.actor, entry);
}

/** Who is calling: a server with an API key, or a browser known only by client id and Origin. */
export type Caller =
  | { kind: "api_key"; orgId: number; apiKeyId: number; client: Client | undefined }
  | { kind: "browser"; orgId: number; client: Client; origin: string };

/** What every request of an organisation reads: whether it may, and what a create defaults to. */
export interface OrgProfile {
  suspended: boolean;
  defaultChainId: string;
  defaultTokenSymbol: string;
  acceptedAssets: string[] | null;
  /** The client a server call without X-Client-ID books its intents on: the oldest. */
  firstClientId: string | null;
}

export interface Organization {
  id: number;
  name: string;
  defaultChainId: string;
  defaultTokenSymbol: string;
}

export function hashApiKey(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** Normalises an allowed origin to scheme://host[:port], the form browsers send. */
export function normaliseOrigin(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw validationError("origin", `${JSON.stringify(input)} is not a URL origin`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw validationError("origin", `${input} must be http or https`);
  }
  if (url.pathname !== "/" || url.search || url.hash || url.username) {
    throw validationError(
      "origin",
      `${input} must be an origin (scheme://host[:port]) with no path`,
    );
  }
  return url.origin;
}

/**
 * Normalises an allowed callback host to the hostname URLs carry (lower case, punycode, IPv6 in
 * brackets); `*` allows any host. Ports and paths are not part of it.
 */
export function normaliseCallbackHost(input: string): string {
  const host = input.trim().toLowerCase();
  if (host === "*") return host;
  let hostname: string | undefined;
  // A scheme, path, credentials or port (a colon outside IPv6 brackets) is not a host.
  if (!/[/?#@\s\\]/.test(host) && !host.replace(/^\[[^\]]*\]/, "").includes(":")) {
    try {
      hostname = new URL(`https://${host}/`).hostname;
    } catch {
      hostname = undefined;
    }
  }
  if (!hostname) {
    throw validationError(
      "callback_host",
      `${JSON.stringify(input)} must be a host name such as shop.example (no scheme, port or path), or *`,
    );
  }
  return hostname;
}

/** Whether a browser create of this client may send callbacks to this URL. */
export function callbackHostAllowed(client: Client, callbackUrl: string): boolean {
  const hosts = client.allowedCallbackHosts;
  return hosts.includes("*") || hosts.includes(new URL(callbackUrl).hostname);
}

export function callbackHostNotAllowed(client: Client, callbackUrl: string): DomainError {
  const host = new URL(callbackUrl).hostname;
  return new DomainError({
    status: 403,
    code: ErrorCode.callbackHostNotAllowed,
    message: `callback_url: host ${host} is not allowed for browser calls of client ${client.clientId} (stablegate client set-callback-hosts)`,
    data: { field: "callback_url", host },
  });
}

export function orgSuspended(): DomainError {
  return new DomainError({
    status: 403,
    code: ErrorCode.orgSuspended,
    message: "organisation suspended",
  });
}

const API_KEY_COLUMNS = [
  "id",
  "org_id",
  "name",
  "prefix",
  "created_at",
  "last_used_at",
  "revoked_at",
  "max_transfer_amount",
  "daily_transfer_cap",
] as const;

/** A key as its audit row shows it: never the secret or its hash. */
const auditedKey = (k: ApiKeyInfo) => ({
  name: k.name,
  prefix: k.prefix,
  revoked: k.revoked_at !== null,
  max_transfer_amount: k.max_transfer_amount,
  daily_transfer_cap: k.daily_transfer_cap,
});

/** A key row, locked for the change; another organisation's key is not found. */
async function keyInScope(trx: Kysely<Database>, id: number, scope: Scope) {
  let query = trx.selectFrom("api_keys").select(API_KEY_COLUMNS).where("id", "=", id).forUpdate();
  if (scope.orgId !== undefined) query = query.where("org_id", "=", scope.orgId);
  const row = await query.executeTakeFirst();
  if (!row) throw notFound(`no API key with id ${id}`);
  return row;
}

export function createTenancyService({
  db,
  chains,
  webhookSecrets,
  cache = createTenancyCache({ maxEntries: 0, maxAgeMs: 0 }),
}: {
  db: Kysely<Database>;
  chains: ChainRegistry;
  webhookSecrets: WebhookSecrets;
  /** Without one, every request reads the database. */
  cache?: TenancyCache;
}) {
  async function clientById(clientId: string): Promise<Client | undefined> {
    if (!CLIENT_ID_PATTERN.test(clientId)) return undefined;
    return cache.get(`client:${clientId}`, async () => {
      const row = await db
        .selectFrom("clients")
        .selectAll()
        .where("client_id", "=", clientId)
        .executeTakeFirst();
      return row && { orgId: row.org_id, value: toClient(row) };
    });
  }

  /** An organisation's profile; throws if there is none (a caller's organisation exists). */
  async function profile(orgId: number): Promise<OrgProfile> {
    const found = await cache.get(`org:${orgId}`, async () => {
      // One round trip for the defaults and the first client.
      const row = await db
        .selectFrom("organizations as o")
        .select([
          "o.suspended_at",
          "o.default_chain_id",
          "o.default_token_symbol",
          "o.accepted_assets",
        ])
        .select((eb) =>
          eb
            .selectFrom("clients as c")
            .select("c.client_id")
            .whereRef("c.org_id", "=", "o.id")
            .orderBy("c.created_at")
            .orderBy("c.client_id")
            .limit(1)
            .as("first_client_id"),
        )
        .where("o.id", "=", orgId)
        .executeTakeFirst();
      return (
        row && {
          orgId,
          value: {
            suspended: row.suspended_at !== null,
            defaultChainId: row.default_chain_id,
            defaultTokenSymbol: row.default_token_symbol,
            acceptedAssets: row.accepted_assets,
            firstClientId: row.first_client_id ?? null,
          } satisfies OrgProfile,
        }
      );
    });
    if (!found) throw notFound(`organization ${orgId} not found`);
    return found;
  }

  /** An active key by its hash: its id, organisation and when it was last noted as used. */
  const activeKey = (secretHash: string) =>
    cache.get(`key:${secretHash}`, async () => {
      const row = await db
        .selectFrom("api_keys")
        .select(["id", "org_id", "last_used_at"])
        .where("secret_hash", "=", secretHash)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      return row && { orgId: row.org_id, value: row };
    });

  /** Changes a client and records it, in one transaction; absent fields are left as they are. */
  async function updateClient(
    clientId: string,
    changes: ClientChanges,
    scope: Scope = {},
  ): Promise<Client> {
    const set: Updateable<ClientsTable> = {
      ...(changes.name === undefined ? {} : { name: nameOf(changes.name) }),
      ...(changes.allowedOrigins === undefined
        ? {}
        : { allowed_origins: [...new Set(changes.allowedOrigins.map(normaliseOrigin))] }),
      ...(changes.allowedCallbackHosts === undefined
        ? {}
        : {
            allowed_callback_hosts: [
              ...new Set(changes.allowedCallbackHosts.map(normaliseCallbackHost)),
            ],
          }),
    };
    // The admin API's 401 means "sign in again": there, another organisation's client is a 404.
    const missing = () =>
      scope.orgId === undefined
        ? invalidClientId(`client ${clientId} not found`)
        : notFound(`client ${clientId} not found`);
    if (!CLIENT_ID_PATTERN.test(clientId)) throw missing();
    return db.transaction().execute(async (trx) => {
      let query = trx
        .selectFrom("clients")
        .selectAll()
        .where("client_id", "=", clientId)
        .forUpdate();
      if (scope.orgId !== undefined) query = query.where("org_id", "=", scope.orgId);
      const before = await query.executeTakeFirst();
      if (!before) throw missing();
      if (Object.keys(set).length === 0) return toClient(before);
      const row = await trx
        .updateTable("clients")
        .set(set)
        .where("client_id", "=", clientId)
        .returningAll()
        .executeTakeFirstOrThrow();
      const client = toClient(row);
      await cache.changed(trx, row.org_id);
      await audit(trx, scope, {
        orgId: row.org_id,
        action: "client.updated",
        target: `client:${clientId}`,
        before: auditedClient(toClient(before)),
        after: auditedClient(client),
      });
      return client;
    });
  }

  /** The first write of a key's use in a minute, per process; the UPDATE re-checks across them. */
  const keyUseWritten = new Map<number, number>();
  async function noteKeyUse(keyId: number, lastUsedAt: Date | null): Promise<void> {
    const at = Date.now();
    const last = Math.max(lastUsedAt?.getTime() ?? 0, keyUseWritten.get(keyId) ?? 0);
    if (at - last < KEY_USE_WRITE_EVERY_MS) return;
    keyUseWritten.set(keyId, at);
    await db
      .updateTable("api_keys")
      .set({ last_used_at: new Date(at) })
      .where("id", "=", keyId)
      .where((eb) =>
        eb.or([
          eb("last_used_at", "is", null),
          eb("last_used_at", "<", new Date(at - KEY_USE_WRITE_EVERY_MS)),
        ]),
      )
      .execute();
  }

  return {
    async createOrganization(input: {
      name: string;
      defaultChainId?: string;
      defaultTokenSymbol?: string;
    }): Promise<Organization & { webhookSecret: string }> {
      const name = input.name.trim();
      if (name.length === 0 || name.length > 200)
        throw validationError("name", "must be 1-200 characters");
      // An alias (matic) is stored under its canonical key, the symbol as the registry spells it.
      const defaultChainId = chains.get(input.defaultChainId ?? "arb").key;
      const defaultTokenSymbol = chains.token(
        defaultChainId,
        input.defaultTokenSymbol ?? "USDT",
      ).symbol;
      // The organisation and its webhook signing secret (shown this once) exist together.
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto("organizations")
          .values({
            name,
            default_chain_id: defaultChainId,
            default_token_symbol: defaultTokenSymbol,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        const webhookSecret = await webhookSecrets.create(trx, row.id);
        return { id: row.id, name: row.name, defaultChainId, defaultTokenSymbol, webhookSecret };
      });
    },

    async getOrganization(id: number): Promise<Organization> {
      const row = await db
        .selectFrom("organizations")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      if (!row) throw notFound(`organization ${id} not found`);
      return {
        id: row.id,
        name: row.name,
        defaultChainId: row.default_chain_id,
        defaultTokenSymbol: row.default_token_symbol,
      };
    },

    async listOrganizations(): Promise<Organization[]> {
      const rows = await db.selectFrom("organizations").selectAll().orderBy("id").execute();
      return rows.map((row) => ({
        id: row.id,
        name: row.name,
        defaultChainId: row.default_chain_id,
        defaultTokenSymbol: row.default_token_symbol,
      }));
    },

    async setDefaultPayment(orgId: number, chainId: string, tokenSymbol: string): Promise<void> {
      const key = chains.get(chainId).key;
      const symbol = chains.token(key, tokenSymbol).symbol;
      await db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable("organizations")
          .set({ default_chain_id: key, default_token_symbol: symbol })
          .where("id", "=", orgId)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) {
          throw notFound(`organization ${orgId} not found`);
        }
        await cache.changed(trx, orgId);
      });
    },

    async createClient(
      input: {
        orgId: number;
        name: string;
        allowedOrigins: string[];
        allowedCallbackHosts?: string[];
      },
      scope: Scope = {},
    ): Promise<Client> {
      const name = nameOf(input.name);
      const allowedOrigins = [...new Set(input.allowedOrigins.map(normaliseOrigin))];
      const hosts = [...new Set((input.allowedCallbackHosts ?? []).map(normaliseCallbackHost))];
      await this.getOrganization(input.orgId);
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto("clients")
          .values({
            client_id: newClientId(),
            org_id: input.orgId,
            name,
            allowed_origins: allowedOrigins,
            allowed_callback_hosts: hosts,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        const client = toClient(row);
        // The organisation's first client may be this one.
        await cache.changed(trx, input.orgId);
        await audit(trx, scope, {
          orgId: input.orgId,
          action: "client.created",
          target: `client:${client.clientId}`,
          after: auditedClient(client),
        });
        return client;
      });
    },

    updateClient,

    async setAllowedOrigins(clientId: string, origins: string[], scope?: Scope): Promise<Client> {
      return updateClient(clientId, { allowedOrigins: origins }, scope);
    },

    /** Replaces the hosts a browser create may send callbacks to (empty: none, `*`: any). */
    async setAllowedCallbackHosts(
      clientId: string,
      hosts: string[],
      scope?: Scope,
    ): Promise<Client> {
      return updateClient(clientId, { allowedCallbackHosts: hosts }, scope);
    },

    async listClients(orgId: number): Promise<Client[]> {
      const rows = await db
        .selectFrom("clients")
        .selectAll()
        .where("org_id", "=", orgId)
        .orderBy("created_at")
        .orderBy("client_id")
        .execute();
      return rows.map(toClient);
    },

    clientById,

    profile,

    /**
     * Inside the writer's transaction: what is cached of the organisation (its keys, clients,
     * suspension, defaults) is dropped by every process when it commits.
     */
    changed: (trx: Kysely<Database>, orgId: number) => cache.changed(trx, orgId),

    /** Starts hearing other processes' changes; until then every request reads the database. */
    listen: cache.listen,

    /** Creates an API key; the secret is returned here once and only its hash is kept. */
    async createApiKey(
      input: { orgId: number; name: string; limits?: Partial<TransferLimits> },
      scope: Scope = {},
    ): Promise<{ id: number; secret: string; key: ApiKeyInfo }> {
      const name = nameOf(input.name);
      const limits = parseTransferLimits(input.limits ?? {});
      await this.getOrganization(input.orgId);
      const secret = newApiKeySecret();
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto("api_keys")
          .values({
            org_id: input.orgId,
            name,
            secret_hash: hashApiKey(secret),
            prefix: secret.slice(0, 12),
            revoked_at: null,
            ...limits,
          })
          .returning(API_KEY_COLUMNS)
          .executeTakeFirstOrThrow();
        await audit(trx, scope, {
          orgId: input.orgId,
          action: "api_key.created",
          target: `api_key:${row.id}`,
          after: auditedKey(row),
        });
        return { id: row.id, secret, key: row };
      });
    },

    async listApiKeys(orgId: number): Promise<ApiKeyInfo[]> {
      return db
        .selectFrom("api_keys")
        .select(API_KEY_COLUMNS)
        .where("org_id", "=", orgId)
        .orderBy("id")
        .execute();
    },

    /**
     * Renames a key and/or sets its own transfer limits (null removes one), recorded in one
     * transaction. The CLI's `key set-limits` and the admin API's PATCH both end here.
     */
    async updateApiKey(
      id: number,
      changes: { name?: string; limits?: Partial<TransferLimits> },
      scope: Scope = {},
    ): Promise<ApiKeyInfo> {
      const set = {
        ...(changes.name === undefined ? {} : { name: nameOf(changes.name) }),
        ...parseTransferLimits(changes.limits ?? {}),
      };
      return db.transaction().execute(async (trx) => {
        const before = await keyInScope(trx, id, scope);
        if (Object.keys(set).length === 0) return before;
        const row = await trx
          .updateTable("api_keys")
          .set(set)
          .where("id", "=", id)
          .returning(API_KEY_COLUMNS)
          .executeTakeFirstOrThrow();
        await cache.changed(trx, before.org_id);
        await audit(trx, scope, {
          orgId: before.org_id,
          action: "api_key.updated",
          target: `api_key:${id}`,
          before: auditedKey(before),
          after: auditedKey(row),
        });
        return row;
      });
    },

    /** Revokes a key: the next request with it is refused (401 4002). */
    async revokeApiKey(id: number, scope: Scope = {}): Promise<ApiKeyInfo> {
      return db.transaction().execute(async (trx) => {
        const before = await keyInScope(trx, id, scope);
        const row = await trx
          .updateTable("api_keys")
          .set({ revoked_at: new Date() })
          .where("id", "=", id)
          .where("revoked_at", "is", null)
          .returning(API_KEY_COLUMNS)
          .executeTakeFirst();
        if (!row) throw notFound(`no active API key with id ${id}`);
        await cache.changed(trx, before.org_id);
        await audit(trx, scope, {
          orgId: before.org_id,
          action: "api_key.revoked",
          target: `api_key:${id}`,
          before: auditedKey(before),
          after: auditedKey(row),
        });
        return row;
      });
    },

    /** True when some client lists this origin: CORS preflights carry no client id to go by. */
    async isOriginKnown(origin: string): Promise<boolean> {
      const row = await db
        .selectFrom("clients")
        .select("client_id")
        .where(sql<boolean>`allowed_origins @> array[${origin}]::text[]`)
        .limit(1)
        .executeTakeFirst();
      return row !== undefined;
    },

    /**
     * Resolves the caller from the request headers. With an API key the Origin is not checked
     * (server calls); without one, the client's allowlist must contain the Origin.
     */
    async authenticate(headers: {
      apiKey: string | undefined;
      clientId: string | undefined;
      origin: string | undefined;
    }): Promise<Caller> {
      const client =
        headers.clientId === undefined ? undefined : await clientById(headers.clientId);
      if (headers.apiKey !== undefined) {
        const key = await activeKey(hashApiKey(headers.apiKey));
        if (!key) throw invalidApiKey();
        if ((await profile(key.org_id)).suspended) throw orgSuspended();
        if (headers.clientId !== undefined && (!client || client.orgId !== key.org_id)) {
          throw invalidClientId(
            `X-Client-ID ${headers.clientId} does not belong to this API key's organization`,
          );
        }
        await noteKeyUse(key.id, key.last_used_at && new Date(key.last_used_at));
        return { kind: "api_key", orgId: key.org_id, apiKeyId: key.id, client };
      }
      if (headers.clientId === undefined) {
        throw invalidClientId("send X-STUDIO-API-KEY, or X-Client-ID with an allowed Origin");
      }
      if (!client) throw invalidClientId(`unknown client id ${headers.clientId}`);
      if (headers.origin === undefined || !client.allowedOrigins.includes(headers.origin)) {
        throw originNotAllowed(headers.origin);
      }
      if ((await profile(client.orgId)).suspended) throw orgSuspended();
      return { kind: "browser", orgId: client.orgId, client, origin: headers.origin };
    },
  };
}

export type TenancyService = ReturnType<typeof createTenancyService>;
