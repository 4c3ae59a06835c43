import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "../../testing/test-database.ts";
import type { DatabaseHandle } from "./create-database.ts";
import { precompile } from "./precompiled.ts";

let handle: DatabaseHandle;
beforeAll(async () => {
  handle = await createTestDatabase();
});
afterAll(() => handle?.close());

describe("precompile", () => {
  it("runs the query compiled once with each run's values, keeping its constants", async () => {
    const { db } = handle;
    const org = (name: string) => ({ name, default_chain_id: "arb", default_token_symbol: "USDT" });
    await db
      .insertInto("organizations")
      .values([org("first"), org("second"), org("third")])
      .execute();
    const byName = precompile(db, (d, a: { name: string; other: string }) =>
      d
        .selectFrom("organizations")
        .select(["name"])
        .where((w) => w.or([w("name", "=", a.name), w("name", "=", a.other)]))
        .where("name", "!=", "third")
        .orderBy("name")
        .compile(),
    );
    expect(await byName.run(db, { name: "second", other: "third" })).toEqual([{ name: "second" }]);
    expect(await byName.run(db, { name: "first", other: "second" })).toEqual([
      { name: "first" },
      { name: "second" },
    ]);
    // In a transaction: the executor given.
    await db.transaction().execute(async (trx) => {
      await trx.insertInto("organizations").values(org("fourth")).execute();
      expect(await byName.run(trx, { name: "fourth", other: "none" })).toEqual([
        { name: "fourth" },
      ]);
    });
  });

  it("refuses an argument that is not a whole parameter: inside a value, or unused", () => {
    const { db } = handle;
    expect(() =>
      precompile(db, (d, a: { part: string }) =>
        d.selectFrom("organizations").select("id").where("name", "like", `%${a.part}%`).compile(),
      ),
    ).toThrow(/part is not a whole parameter/);
    expect(() =>
      precompile(db, (d, a: { unused: string }) => {
        void a.unused;
        return d.selectFrom("organizations").select("id").compile();
      }),
    ).toThrow(/unused is not a whole parameter/);
  });

  it.skipIf(process.env.DATABASE_URL === undefined)(
    "is a named prepared statement on PostgreSQL, parsed once per connection, and outlives a column added meanwhile",
    async () => {
      const { db } = handle;
      const byId = precompile(db, (d, a: { id: number }) =>
        d.selectFrom("organizations").select(["name"]).where("id", "=", a.id).compile(),
      );
      const org = await db
        .insertInto("organizations")
        .values({ name: "prepared", default_chain_id: "arb", default_token_symbol: "USDT" })
        .returning("id")
        .executeTakeFirstOrThrow();
      // In a transaction: one connection, whose prepared statements the view lists.
      await db.transaction().execute(async (trx) => {
        expect(await byId.run(trx, { id: org.id })).toEqual([{ name: "prepared" }]);
        expect(await byId.run(trx, { id: org.id })).toEqual([{ name: "prepared" }]);
        const { rows } = await sql<{ name: string }>`
          select name from pg_prepared_statements
          where statement = 'select "name" from "organizations" where "id" = $1'`.execute(trx);
        expect(rows).toEqual([{ name: expect.stringMatching(/^sg_[0-9a-f]{24}$/) }]);
        // What a migration in another process could do while the statement is prepared.
        await sql`alter table organizations add column prepared_probe integer`.execute(trx);
        expect(await byId.run(trx, { id: org.id })).toEqual([{ name: "prepared" }]);
        await sql`alter table organizations drop column prepared_probe`.execute(trx);
      });
    },
  );
});
