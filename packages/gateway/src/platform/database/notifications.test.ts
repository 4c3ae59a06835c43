import { EventEmitter, once } from "node:events";
import { sql } from "kysely";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { createTestDatabase } from "../../testing/test-database.ts";
import type { DatabaseHandle } from "./create-database.ts";
import { notify } from "./notifications.ts";

const handles: DatabaseHandle[] = [];
afterEach(async () => {
  for (const h of handles.splice(0)) await h.close();
});

async function database(): Promise<DatabaseHandle> {
  const h = await createTestDatabase();
  handles.push(h);
  return h;
}

function heard(): { events: EventEmitter; messages: string[] } {
  return { events: new EventEmitter(), messages: [] };
}

describe("notifications", () => {
  it("delivers a notification sent in a transaction at commit, and none on rollback", async () => {
    const { db, notifications } = await database();
    const got = heard();
    await notifications.listen("jobs", {
      message(payload) {
        got.messages.push(payload);
        got.events.emit("message");
      },
    });
    await db
      .transaction()
      .execute(async (trx) => {
        await notify(trx, "jobs", "rolled back");
        throw new Error("abort");
      })
      .catch(() => {});
    const arrived = once(got.events, "message");
    await db.transaction().execute(async (trx) => {
      await notify(trx, "jobs", "committed");
      expect(got.messages).toEqual([]);
    });
    await arrived;
    // A later one proves the rolled-back one is not merely late.
    const next = once(got.events, "message");
    await notify(db, "jobs", "after");
    await next;
    expect(got.messages).toEqual(["committed", "after"]);
  });

  it("stops delivering to a handler that stopped listening, and keeps the others", async () => {
    const { db, notifications } = await database();
    const a = heard();
    const b = heard();
    const stopA = await notifications.listen("keys", { message: (p) => a.messages.push(p) });
    await notifications.listen("keys", {
      message(p) {
        b.messages.push(p);
        b.events.emit("message");
      },
    });
    await stopA();
    const arrived = once(b.events, "message");
    await notify(db, "keys", "x");
    await arrived;
    expect(a.messages).toEqual([]);
    expect(b.messages).toEqual(["x"]);
  });

  it.runIf(process.env.DATABASE_URL)(
    "reconnects after its connection is killed, tells the handler to reset, and hears again",
    async () => {
      const { db, notifications } = await database();
      const got = heard();
      await notifications.listen("wake", {
        message(p) {
          got.messages.push(p);
          got.events.emit("message");
        },
        reset() {
          got.events.emit("reset");
        },
      });
      const reset = once(got.events, "reset");
      const { rows: here } = await sql<{
        schema: string;
      }>`select current_schema() as schema`.execute(db);
      const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await admin.connect();
      try {
        // Only this test's listener: other test files listen in their own schemas.
        const { rows } = await admin.query(
          "select pg_terminate_backend(pid) from pg_stat_activity where query = $1",
          [`listen sg_${here[0]?.schema}_wake`],
        );
        expect(rows.length).toBeGreaterThan(0);
      } finally {
        await admin.end();
      }
      await reset;
      const arrived = once(got.events, "message");
      await notify(db, "wake", "again");
      await arrived;
      expect(got.messages).toEqual(["again"]);
    },
  );

  it("refuses a topic that is not a plain lowercase name", async () => {
    const { db, notifications } = await database();
    await expect(notifications.listen("a; drop table x", { message() {} })).rejects.toThrow(
      /invalid notification topic/,
    );
    await expect(notify(db, "Bad-Topic")).rejects.toThrow(/invalid notification topic/);
    await sql`select 1`.execute(db);
  });
});
