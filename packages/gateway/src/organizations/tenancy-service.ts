import { createHash } from "node:crypto";
import { type Kysely, type Selectable, sql, type Updateable } from "kysely";
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
import type { WebhookSecrets } from "./webhook-secrets.ts";

export interface Client {
  clientId: string;
  orgId: number;
  name: string;
  allowedOrigins: string[];
  /** Hosts a browser create may send callback_url to: `*` any, empty none (API key calls: any). */
  allowedCallbackHosts: string[];
}

const toClient = (row: Selectable<ClientsTable>): Client => ({
  clientId: row.client_id,
  orgId: row.org_id,
  name: row.name,
  allowedOrigins: row.allowed_origins,
  allowedCallbackHosts: row.allowed_callback_hosts,
});

/** Who is calling: a server with an API key, or a browser known only by client id and Origin. */
export type Caller =
  | { kind: "api_key"; orgId: number; apiKeyId: number; client: Client | undefined }
  | { kind: "browser"; orgId: number; client: Client; origin: string };

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

export function createTenancyService({
  db,
  chains,
  webhookSecrets,
}: {
  db: Kysely<Database>;
  chains: ChainRegistry;
  webhookSecrets: WebhookSecrets;
}) {
  async function clientById(clientId: string): Promise<Client | undefined> {
    if (!CLIENT_ID_PATTERN.test(clientId)) return undefined;
    const row = await db
      .selectFrom("clients")
      .selectAll()
      .where("client_id", "=", clientId)
      .executeTakeFirst();
    return row && toClient(row);
  }

  async function updateClient(clientId: string, set: Updateable<ClientsTable>): Promise<Client> {
    const row = await db
      .updateTable("clients")
      .set(set)
      .where("client_id", "=", clientId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw invalidClientId(`client ${clientId} not found`);
    return toClient(row);
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
      const defaultChainId = input.defaultChainId ?? "arb";
      const defaultTokenSymbol = input.defaultTokenSymbol ?? "USDT";
      chains.token(defaultChainId, defaultTokenSymbol);
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
      chains.token(chainId, tokenSymbol);
      const result = await db
        .updateTable("organizations")
        .set({ default_chain_id: chainId, default_token_symbol: tokenSymbol })
        .where("id", "=", orgId)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) {
        throw notFound(`organization ${orgId} not found`);
      }
    },

    async createClient(input: {
      orgId: number;
      name: string;
      allowedOrigins: string[];
      allowedCallbackHosts?: string[];
    }): Promise<Client> {
      const allowedOrigins = [...new Set(input.allowedOrigins.map(normaliseOrigin))];
      const hosts = [...new Set((input.allowedCallbackHosts ?? []).map(normaliseCallbackHost))];
      await this.getOrganization(input.orgId);
      const row = await db
        .insertInto("clients")
        .values({
          client_id: newClientId(),
          org_id: input.orgId,
          name: input.name,
          allowed_origins: allowedOrigins,
          allowed_callback_hosts: hosts,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toClient(row);
    },

    async setAllowedOrigins(clientId: string, origins: string[]): Promise<Client> {
      return updateClient(clientId, {
        allowed_origins: [...new Set(origins.map(normaliseOrigin))],
      });
    },

    /** Replaces the hosts a browser create may send callbacks to (empty: none, `*`: any). */
    async setAllowedCallbackHosts(clientId: string, hosts: string[]): Promise<Client> {
      return updateClient(clientId, {
        allowed_callback_hosts: [...new Set(hosts.map(normaliseCallbackHost))],
      });
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

    /** Creates an API key; the secret is returned here once and only its hash is kept. */
    async createApiKey(input: {
      orgId: number;
      name: string;
    }): Promise<{ id: number; secret: string }> {
      await this.getOrganization(input.orgId);
      const secret = newApiKeySecret();
      const row = await db
        .insertInto("api_keys")
        .values({
          org_id: input.orgId,
          name: input.name,
          secret_hash: hashApiKey(secret),
          prefix: secret.slice(0, 12),
          revoked_at: null,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      return { id: row.id, secret };
    },

    async listApiKeys(orgId: number) {
      return db
        .selectFrom("api_keys")
        .select(["id", "name", "prefix", "created_at", "revoked_at"])
        .where("org_id", "=", orgId)
        .orderBy("id")
        .execute();
    },

    async revokeApiKey(id: number): Promise<void> {
      const result = await db
        .updateTable("api_keys")
        .set({ revoked_at: new Date() })
        .where("id", "=", id)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) {
        throw notFound(`no active API key with id ${id}`);
      }
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
        const key = await db
          .selectFrom("api_keys as k")
          .innerJoin("organizations as o", "o.id", "k.org_id")
          .select(["k.id", "k.org_id", "o.suspended_at"])
          .where("k.secret_hash", "=", hashApiKey(headers.apiKey))
          .where("k.revoked_at", "is", null)
          .executeTakeFirst();
        if (!key) throw invalidApiKey();
        if (key.suspended_at !== null) throw orgSuspended();
        if (headers.clientId !== undefined && (!client || client.orgId !== key.org_id)) {
          throw invalidClientId(
            `X-Client-ID ${headers.clientId} does not belong to this API key's organization`,
          );
        }
        return { kind: "api_key", orgId: key.org_id, apiKeyId: key.id, client };
      }
      if (headers.clientId === undefined) {
        throw invalidClientId("send X-STUDIO-API-KEY, or X-Client-ID with an allowed Origin");
      }
      if (!client) throw invalidClientId(`unknown client id ${headers.clientId}`);
      if (headers.origin === undefined || !client.allowedOrigins.includes(headers.origin)) {
        throw originNotAllowed(headers.origin);
      }
      const org = await db
        .selectFrom("organizations")
        .select("suspended_at")
        .where("id", "=", client.orgId)
        .executeTakeFirst();
      if (org?.suspended_at != null) throw orgSuspended();
      return { kind: "browser", orgId: client.orgId, client, origin: headers.origin };
    },
  };
}

export type TenancyService = ReturnType<typeof createTenancyService>;
