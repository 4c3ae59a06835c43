import { sql } from "kysely";
import type { RegisteredChain } from "../../chain/chain-registry.ts";
import { hashApiKey } from "../../organizations/tenancy-service.ts";
import { type ManualChain, startManualChain } from "../manual-chain.ts";
import { createStudioUser, studioSession } from "../studio-client.ts";
import { startTestGateway, type TestGateway } from "../test-gateway.ts";

// What the fuzzer runs against: the real gateway in this process, on its own database, with two
// organisations that each hold data (intents, links, keys, clients, invitations) and a Studio
// owner, and an operator. Requests with one organisation's credentials must never see the
// other's data; refused requests must leave every table as it was.

export interface Principal {
  orgId: number;
  userId: number;
  clientId: string;
  apiKey: string;
  /** A key of this organisation, revoked. */
  revokedKey: string;
  origin: string;
  cookie: string;
  csrf: string;
  /** Ids a path parameter may take (intent, link, key, client, invitation, user, org ids). */
  ids: string[];
  /** Strings that belong to this organisation alone: seeing one elsewhere is a leak. */
  secrets: string[];
}

export interface FuzzWorld {
  url: string;
  gateway: TestGateway;
  a: Principal;
  b: Principal;
  operator: { cookie: string; csrf: string };
  /**
   * Puts back what a request may have taken away (a session, a key, an unsuspended org), so the
   * next valid request has working credentials; true when it had to write.
   */
  ensureLive(): Promise<boolean>;
  /** A checksum per table of every row (minus the columns a read may touch). */
  snapshot(): Promise<Map<string, string>>;
  close(): Promise<void>;
}

// Columns a request may write without writing a row: last-use stamps, written by reads too.
const TOUCHED_COLUMNS: Record<string, string[]> = {
  api_keys: ["last_used_at"],
  studio_sessions: ["last_seen_at"],
};
// Tables a refused request writes by design: a failed sign-in is counted for the lockout.
const WRITTEN_WHEN_REFUSED = new Set([
  "login_failures",
  "kysely_migration",
  "kysely_migration_lock",
]);

const PASSWORD = "correct horse battery staple";

export async function startFuzzWorld(): Promise<FuzzWorld> {
  const chain = await startManualChain();
  const local: RegisteredChain = {
    key: "local",
    evmChainId: chain.chain.evmChainId,
    name: "Anvil",
    tokens: [{ symbol: "USDT", address: chain.chain.tokenAddress, decimals: 6 }],
    rpcUrls: [chain.chain.rpcUrl],
    confirmations: 1,
    pollingIntervalMs: 50,
  };
  let gateway: TestGateway;
  try {
    gateway = await startTestGateway({
      extraChains: [local],
      env: {
        // No background loop: what changes the tables is the request in flight, nothing else.
        ROLE: "api",
        // The fuzzer sends thousands of requests from one address; the limits have tests of their own.
        RATE_LIMIT_PER_IP: "0",
        RATE_LIMIT_PER_API_KEY: "0",
        RATE_LIMIT_PER_CLIENT: "0",
      },
    });
  } catch (err) {
    await chain.stop();
    throw err;
  }
  try {
    return await populate(gateway, chain);
  } catch (err) {
    await gateway.close();
    await chain.stop();
    throw err;
  }
}

async function populate(gateway: TestGateway, chain: ManualChain): Promise<FuzzWorld> {
  const db = gateway.database.db;
  const tag = Math.random().toString(36).slice(2, 8);
  const a = await principal(gateway, `Alpha ${tag}`);
  const b = await principal(gateway, `Bravo ${tag}`);
  const operatorUser = await createStudioUser(gateway, { operator: true, password: PASSWORD });
  const operator = await studioSession(gateway, operatorUser);
  const operatorCreds = { cookie: operator.cookie, csrf: operator.csrfToken };

  const tables = (
    await sql<{ table_name: string }>`
      select table_name from information_schema.tables
      where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`.execute(
      db,
    )
  ).rows
    .map((r) => r.table_name)
    .filter((t) => !WRITTEN_WHEN_REFUSED.has(t));
  // A row's xmin is the transaction that last wrote it: the count and the xmins of a table change
  // with any insert, update or delete. Tables with touched columns are hashed without them.
  const checksums = sql.join(
    tables.map((t) => {
      const touched = TOUCHED_COLUMNS[t];
      if (touched === undefined) {
        return sql`select ${t}::text as t, count(*)::text || ':' || coalesce(sum(xmin::text::bigint), 0)::text as h from ${sql.table(t)}`;
      }
      const row = sql`to_jsonb(${sql.table(t)})${sql.raw(touched.map((c) => ` - '${c}'`).join(""))}`;
      return sql`select ${t}::text as t, count(*)::text || ':' || coalesce(md5(string_agg(md5((${row})::text), '' order by md5((${row})::text))), '') as h from ${sql.table(t)}`;
    }),
    sql` union all `,
  );

  /** A new session in place of one a request ended (sign-out, revoke-all, a password change). */
  async function reviveSession(creds: { cookie: string; csrf: string }, userId: number) {
    const session = await db
      .selectFrom("studio_sessions")
      .select("id")
      .where("csrf_token", "=", creds.csrf)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    if (session) return false;
    const s = await studioSession(gateway, { userId, email: "", password: PASSWORD });
    creds.cookie = s.cookie;
    creds.csrf = s.csrfToken;
    return true;
  }

  async function relive(p: Principal): Promise<boolean> {
    let wrote = await reviveSession(p, p.userId);
    const key = await db
      .selectFrom("api_keys")
      .select("id")
      .where("org_id", "=", p.orgId)
      .where("revoked_at", "is", null)
      .where("secret_hash", "=", hashApiKey(p.apiKey))
      .executeTakeFirst();
    if (!key) {
      p.apiKey = (
        await gateway.services.tenancy.createApiKey({ orgId: p.orgId, name: "fuzz" })
      ).secret;
      wrote = true;
    }
    return wrote;
  }

  return {
    url: gateway.url,
    gateway,
    a,
    b,
    operator: operatorCreds,
    async ensureLive() {
      const unsuspended = await db.transaction().execute(async (trx) => {
        const r = await trx
          .updateTable("organizations")
          .set({ suspended_at: null })
          .where("id", "in", [a.orgId, b.orgId])
          .where("suspended_at", "is not", null)
          .executeTakeFirst();
        // The gateway caches suspension: it must hear of this write like of any other.
        for (const orgId of [a.orgId, b.orgId]) await gateway.services.tenancy.changed(trx, orgId);
        return r;
      });
      let wrote = Number(unsuspended.numUpdatedRows) > 0;
      if (await relive(a)) wrote = true;
      if (await relive(b)) wrote = true;
      if (await reviveSession(operatorCreds, operatorUser.userId)) wrote = true;
      return wrote;
    },
    async snapshot() {
      const rows = (await sql<{ t: string; h: string }>`${checksums}`.execute(db)).rows;
      return new Map(rows.map((r) => [r.t, r.h]));
    },
    async close() {
      await gateway.close();
      await chain.stop();
    },
  };
}

/** An organisation with a client, keys, intents, a link, an invitation and a signed-in owner. */
async function principal(gateway: TestGateway, name: string): Promise<Principal> {
  const tenant = await gateway.createTenant({ name });
  const owner = await createStudioUser(gateway, {
    orgId: tenant.orgId,
    role: "owner",
    password: PASSWORD,
    email: `${name.replace(/\W/g, "-").toLowerCase()}@example.com`,
  });
  const session = await studioSession(gateway, owner);
  const call = async (method: string, path: string, body?: unknown, apiKey?: string) => {
    const headers: Record<string, string> = apiKey
      ? { "x-studio-api-key": apiKey }
      : { cookie: session.cookie, "x-csrf-token": session.csrfToken };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as { code: number; data: Record<string, unknown> };
    if (!res.ok)
      throw new Error(
        `fuzz set-up: ${method} ${path} answered ${res.status} ${JSON.stringify(json)}`,
      );
    return json.data;
  };
  const org = `/v1/admin/orgs/${tenant.orgId}`;
  const intents = [];
  for (const [i, fiat] of ["300", "12.34", "1000"].entries()) {
    intents.push(
      await call(
        "POST",
        "/v1/studio/api/payment/intent",
        {
          fiat_amount: fiat,
          fiat_currency: i === 1 ? "USD" : "TWD",
          order_data: { order_id: `${name}-order-${i}` },
          group_key: `${name}-group`,
        },
        tenant.apiKey,
      ),
    );
  }
  const link = await call("POST", `${org}/payment-links`, {
    fiat_amount: "99",
    fiat_currency: "TWD",
    description: `${name} link`,
    reusable: true,
  });
  const invitation = await call("POST", `${org}/invitations`, {
    email: `invitee-${name.replace(/\W/g, "-").toLowerCase()}@example.com`,
    role: "viewer",
  });
  const key = await call("POST", `${org}/keys`, { name: `${name} second key` });
  const revoked = await call("POST", `${org}/keys`, { name: `${name} revoked key` });
  await call("DELETE", `${org}/keys/${revoked.id}`);
  const client = await call("POST", `${org}/clients`, {
    name: `${name} second client`,
    allowed_origins: ["https://second.example"],
  });
  const secret = await call("GET", `${org}/webhook-secret`);
  const strings = (values: unknown[]) =>
    values
      .filter((v): v is string | number => typeof v === "string" || typeof v === "number")
      .map(String);
  return {
    orgId: tenant.orgId,
    userId: owner.userId,
    clientId: tenant.clientId,
    apiKey: tenant.apiKey,
    revokedKey: String(revoked.secret),
    origin: tenant.origin,
    cookie: session.cookie,
    csrf: session.csrfToken,
    ids: strings([
      tenant.orgId,
      owner.userId,
      tenant.clientId,
      client.client_id,
      key.id,
      link.id,
      invitation.id,
      ...intents.map((i) => i.payment_intent_id),
    ]),
    secrets: strings([
      tenant.apiKey,
      tenant.clientId,
      tenant.webhookSecret,
      secret.secret,
      key.secret,
      client.client_id,
      link.id,
      invitation.url,
      name,
      owner.email,
      ...intents.flatMap((i) => [i.payment_intent_id, i.payment_address]),
    ]),
  };
}
