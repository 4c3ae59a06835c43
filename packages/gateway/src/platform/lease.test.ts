import { setTimeout as wait } from "node:timers/promises";
import { sql, type Transaction } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../testing/test-database.ts";
import { createTestLogger } from "../testing/test-logger.ts";
import type { DatabaseHandle } from "./database/create-database.ts";
import type { Database } from "./database/schema.ts";
import { createLeases, LeaseLostError, type Leases } from "./lease.ts";

// Leader election on the database, as processes meet it: each createLeases() is one process.

let database: DatabaseHandle;
const opened: Leases[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  for (const l of opened) await l.stop();
  await database?.close();
});

function processLeases(options: { ttlMs?: number; renewMs?: number } = {}): Leases {
  const leases = createLeases({ db: database.db, log: createTestLogger(), ...options });
  opened.push(leases);
  return leases;
}

const row = (name: string) =>
  database.db.selectFrom("leases").selectAll().where("name", "=", name).executeTakeFirst();

/** Makes a lease row run out now, as it does TTL after its holder died. */
const runOut = (name: string) =>
  database.db
    .updateTable("leases")
    .set({ until: sql<Date>`clock_timestamp() - interval '1 second'` })
    .where("name", "=", name)
    .execute();

/** A transaction that runs `first`, then stays open until commit(). */
function openTransaction(first: (trx: Transaction<Database>) => Promise<unknown>) {
  let commit = () => {};
  const gate = new Promise<void>((resolve) => {
    commit = resolve;
  });
  let entered = () => {};
  const inside = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const done = database.db.transaction().execute(async (trx) => {
    await first(trx);
    entered();
    await gate;
  });
  return {
    inside,
    async commit() {
      commit();
      await done;
    },
  };
}

describe("leases", { timeout: 120_000 }, () => {
  it("gives a free lease to one process, with token 1, and not to another", async () => {
    const a = processLeases();
    const b = processLeases();
    const lease = await a.claim("take");
    expect(lease?.token).toBe(1n);
    expect(await b.claim("take")).toBeUndefined();
    // Claiming again in the holder is the same lease, not a takeover.
    expect(await a.claim("take")).toBe(lease);
    expect(a.held()).toEqual([{ name: "take", token: 1n }]);
    expect(b.held()).toEqual([]);
    expect((await row("take"))?.holder).toBe(a.holder);
  });

  it("claims one name once when asked twice at the same time", async () => {
    const a = processLeases();
    const [x, y] = await Promise.all([a.claim("twice"), a.claim("twice")]);
    expect(x).toBe(y);
    expect(x?.token).toBe(1n);
  });

  it("renews on its own timer, so the holder keeps it past its TTL without claiming again", async () => {
    // A TTL of 3 s: on a loaded machine a renewal's query can take a second or more.
    const a = processLeases({ ttlMs: 3000, renewMs: 200 });
    const b = processLeases({ ttlMs: 3000, renewMs: 200 });
    const lease = await a.claim("renew");
    const first = (await row("renew"))?.until;
    const started = Date.now();
    // One and a half TTLs go by; the other process never gets it and the expiry keeps moving.
    while (Date.now() - started < 4500) {
      expect(await b.claim("renew")).toBeUndefined();
      await wait(100);
    }
    expect(lease?.signal.aborted).toBe(false);
    expect(new Date((await row("renew"))?.until ?? 0).getTime()).toBeGreaterThan(
      new Date(first ?? 0).getTime() + 2000,
    );
  });

  it("is taken over once it runs out, with a higher token; the old holder is fenced off", async () => {
    // A holder that never renews within the test: as good as dead after its TTL.
    const dead = processLeases({ ttlMs: 800, renewMs: 60_000 });
    const next = processLeases();
    const old = await dead.claim("expire");
    if (!old) throw new Error("no lease");
    const started = Date.now();
    let taken = await next.claim("expire");
    while (!taken) {
      expect(Date.now() - started).toBeLessThan(60_000);
      await wait(50);
      taken = await next.claim("expire");
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(taken.token).toBe(old.token + 1n);
    // The deposed holder's writes fail inside their transaction, and it learns it lost.
    const attempt = database.db.transaction().execute(async (trx) => {
      await old.fence(trx);
      await sql`select 1`.execute(trx);
    });
    await expect(attempt).rejects.toThrow(LeaseLostError);
    expect(old.signal.aborted).toBe(true);
    expect(dead.held()).toEqual([]);
    // The new holder's pass through the fence succeeds.
    await database.db.transaction().execute((trx) => taken.fence(trx));
  });

  it("tells a holder at its next renewal that its lease was taken over", async () => {
    const a = processLeases({ ttlMs: 5000, renewMs: 100 });
    const b = processLeases();
    const lease = await a.claim("lost");
    if (!lease) throw new Error("no lease");
    await runOut("lost");
    const taken = await b.claim("lost");
    expect(taken?.token).toBe(lease.token + 1n);
    await expect.poll(() => lease.signal.aborted, { timeout: 60_000 }).toBe(true);
    expect(a.held()).toEqual([]);
    // A lease that ran out is not renewed back to life, even by its holder.
    const c = processLeases({ ttlMs: 5000, renewMs: 100 });
    const ran = await c.claim("ran-out");
    await runOut("ran-out");
    await expect.poll(() => ran?.signal.aborted, { timeout: 60_000 }).toBe(true);
  });

  it("gives a lease up by its own clock when its renewal hangs past the TTL", async () => {
    const a = processLeases({ ttlMs: 1000, renewMs: 100 });
    const lease = await a.claim("hang");
    if (!lease) throw new Error("no lease");
    // Another transaction holds the lease row: the renewal's update waits behind it.
    const blocker = openTransaction((trx) =>
      trx.selectFrom("leases").select("name").where("name", "=", "hang").forUpdate().execute(),
    );
    try {
      await blocker.inside;
      await expect.poll(() => lease.signal.aborted, { timeout: 60_000 }).toBe(true);
      expect(a.held()).toEqual([]);
    } finally {
      await blocker.commit();
    }
  });

  it.skipIf(!process.env.DATABASE_URL)(
    "holds a takeover off until a fenced transaction commits (PostgreSQL: PGlite runs one transaction at a time)",
    async () => {
      const dying = processLeases({ ttlMs: 500, renewMs: 60_000 });
      const next = processLeases();
      const lease = await dying.claim("fence-lock");
      if (!lease) throw new Error("no lease");
      const write = openTransaction((trx) => lease.fence(trx));
      await write.inside;
      await expect
        .poll(async () => {
          const r = await sql<{
            over: boolean;
          }>`select until < clock_timestamp() as over from leases where name = 'fence-lock'`.execute(
            database.db,
          );
          return r.rows[0]?.over;
        })
        .toBe(true);
      let taken: Awaited<ReturnType<Leases["claim"]>> | "pending" = "pending";
      const claim = next.claim("fence-lock").then((l) => {
        taken = l;
      });
      // The takeover waits on the row lock the fenced transaction holds.
      await expect
        .poll(
          async () => {
            const r = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
            where wait_event_type = 'Lock' and query like '%insert into "leases"%'`.execute(
              database.db,
            );
            return r.rows[0]?.n;
          },
          { timeout: 60_000 },
        )
        .toBe(1);
      expect(taken).toBe("pending");
      await write.commit();
      await claim;
      expect((taken as unknown as { token: bigint }).token).toBe(lease.token + 1n);
    },
  );

  it("gives its leases up on stop, so another process takes over at once", async () => {
    const a = processLeases();
    const b = processLeases();
    const lease = await a.claim("stop");
    await a.claim("stop-too");
    await a.stop();
    expect(lease?.signal.aborted).toBe(true);
    expect(a.held()).toEqual([]);
    expect(await a.claim("stop")).toBeUndefined();
    expect((await b.claim("stop"))?.token).toBe(2n);
    expect((await b.claim("stop-too"))?.token).toBe(2n);
    await b.release("stop");
    expect(new Date((await row("stop"))?.until ?? Date.now()).getTime()).toBeLessThan(Date.now());
    expect(b.held().map((l) => l.name)).toEqual(["stop-too"]);
  });
});
