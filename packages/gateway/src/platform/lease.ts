import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { type Kysely, sql, type Transaction } from "kysely";
import type { Logger } from "pino";
import type { Database } from "./database/schema.ts";

/** One job this process runs alone, for as long as its signal is not aborted. */
export interface Lease {
  readonly name: string;
  /** The fencing token: raised on every takeover, so a deposed holder's token is always lower. */
  readonly token: bigint;
  /** Aborted the moment this process learns the lease is gone (taken over, expired, released). */
  readonly signal: AbortSignal;
  /**
   * Inside a transaction: throws LeaseLostError unless this lease still stands, and holds a share
   * lock on its row until commit, so no takeover can commit in between.
   */
  fence(trx: Transaction<Database>): Promise<void>;
}

export interface Leases {
  /** This process's name in the lease rows: host, pid and a random suffix. */
  readonly holder: string;
  /** Takes the lease if it is free or has run out; the held lease, or undefined (no log). */
  claim(name: string): Promise<Lease | undefined>;
  /** The leases this process holds now, by name: for /readyz and metrics. */
  held(): Array<{ name: string; token: bigint }>;
  /** Gives one lease up, so another process may take it at once. */
  release(name: string): Promise<void>;
  /** Stops renewing and gives every lease up. */
  stop(): Promise<void>;
}

export class LeaseLostError extends Error {
  override name = "LeaseLostError";
  constructor(lease: string) {
    super(`lease ${lease}: another process holds it now`);
  }
}

export const DEFAULT_LEASE_TTL_MS = 5000;
export const DEFAULT_LEASE_RENEW_MS = 1000;

/**
 * Leader election on the database, one row per job (`leases`): a holder, an expiry and a fencing
 * token. Expiry is the database's clock, so the processes' clocks do not matter; a lease row (not
 * an advisory lock) because PGlite is one shared connection and the jobs do RPC work between
 * their transactions. Held leases are renewed together on a timer of their own, so a slow job
 * does not lose its lease; a lease not renewed within its TTL by this process's own clock is
 * given up locally (its signal aborts) before any other process can take it.
 */
export function createLeases(options: {
  db: Kysely<Database>;
  log: Logger;
  ttlMs?: number;
  renewMs?: number;
  holder?: string;
}): Leases {
  const { db, log } = options;
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const renewMs = options.renewMs ?? DEFAULT_LEASE_RENEW_MS;
  const holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const until = sql<Date>`clock_timestamp() + ${ttlMs}::double precision * interval '1 millisecond'`;
  const held = new Map<string, { lease: Lease; abort: AbortController; validUntil: number }>();
  const claiming = new Map<string, Promise<Lease | undefined>>();
  const renewing = { failed: false };
  let timer: NodeJS.Timeout | undefined;
  let renewal: Promise<void> | undefined;
  let stopped = false;

  function lose(name: string, lease: Lease, reason: string): void {
    const h = held.get(name);
    if (h?.lease !== lease) return;
    held.delete(name);
    h.abort.abort(new LeaseLostError(name));
    log.warn({ lease: name, token: String(lease.token), reason }, "lost a lease");
  }

  async function renew(): Promise<void> {
    const names = [...held.keys()];
    if (names.length === 0) return;
    const started = performance.now();
    let rows: Array<{ name: string; token: string | number }>;
    try {
      rows = await db
        .updateTable("leases")
        .set({ until })
        .where("holder", "=", holder)
        .where("name", "in", names)
        // A lease that ran out is lost, even when no one has taken it yet.
        .where("until", ">=", sql<Date>`clock_timestamp()`)
        .returning(["name", "token"])
        .execute();
    } catch (err) {
      // Once per outage, not once per renewal: the leases go when their TTL has passed.
      if (!renewing.failed) log.warn({ err }, "renewing leases failed; will retry");
      renewing.failed = true;
      return;
    }
    if (renewing.failed) log.info("renewing leases works again");
    renewing.failed = false;
    const kept = new Map(rows.map((r) => [r.name, BigInt(r.token)]));
    for (const name of names) {
      const h = held.get(name);
      if (!h) continue;
      if (kept.get(name) === h.lease.token) h.validUntil = started + ttlMs;
      else lose(name, h.lease, "taken over by another process");
    }
  }

  // Every renewMs: give up what this process could not renew in time (even while a renewal
  // hangs), then renew the rest unless a renewal is still in flight.
  function tick(): void {
    for (const [name, h] of held)
      if (performance.now() > h.validUntil) lose(name, h.lease, "not renewed within its TTL");
    if (held.size === 0) {
      clearInterval(timer);
      timer = undefined;
      return;
    }
    renewal ??= renew().finally(() => {
      renewal = undefined;
    });
  }

  function schedule(): void {
    if (timer !== undefined || stopped) return;
    timer = setInterval(tick, renewMs);
    timer.unref();
  }

  // Released leases keep their row, run out: the next holder's token is still higher.
  async function expireRows(names?: string[]): Promise<void> {
    let q = db
      .updateTable("leases")
      .set({ until: new Date(0) })
      .where("holder", "=", holder);
    if (names) q = q.where("name", "in", names);
    await q.execute().catch((err) => log.warn({ err }, "releasing leases failed"));
  }

  async function take(name: string): Promise<Lease | undefined> {
    if (stopped) return undefined;
    const started = performance.now();
    // Free, run out, or ours from an earlier session: take it with a higher token.
    const row = await db
      .insertInto("leases")
      .values({ name, holder, until, token: 1n })
      .onConflict((oc) =>
        oc
          .column("name")
          .doUpdateSet({ holder, until, token: sql`leases.token + 1` })
          .where((eb) =>
            eb.or([
              eb("leases.holder", "=", holder),
              eb("leases.until", "<", sql<Date>`clock_timestamp()`),
            ]),
          ),
      )
      .returning("token")
      .executeTakeFirst();
    if (!row) return undefined;
    if (stopped) {
      await expireRows([name]);
      return undefined;
    }
    const token = BigInt(row.token);
    const abort = new AbortController();
    const lease: Lease = {
      name,
      token,
      signal: abort.signal,
      async fence(trx) {
        const current = await trx
          .selectFrom("leases")
          .select("token")
          .where("name", "=", name)
          .where("holder", "=", holder)
          .forShare()
          .executeTakeFirst();
        if (current === undefined || BigInt(current.token) !== token) {
          lose(name, lease, "taken over by another process");
          throw new LeaseLostError(name);
        }
      },
    };
    held.set(name, { lease, abort, validUntil: started + ttlMs });
    log.info({ lease: name, token: String(token) }, "took a lease");
    schedule();
    return lease;
  }

  return {
    holder,
    claim(name) {
      const mine = held.get(name);
      if (mine) return Promise.resolve(mine.lease);
      // One attempt per name at a time: a second would raise the token under the first.
      let attempt = claiming.get(name);
      if (!attempt) {
        attempt = take(name).finally(() => claiming.delete(name));
        claiming.set(name, attempt);
      }
      return attempt;
    },
    held: () =>
      [...held.values()]
        .map(({ lease }) => ({ name: lease.name, token: lease.token }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    async release(name) {
      const h = held.get(name);
      if (!h) return;
      held.delete(name);
      h.abort.abort(new LeaseLostError(name));
      await expireRows([name]);
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      for (const h of held.values()) h.abort.abort(new LeaseLostError(h.lease.name));
      held.clear();
      // A renewal in flight finishes first: none may reach a database closed after stop().
      await renewal;
      await expireRows();
    },
  };
}
