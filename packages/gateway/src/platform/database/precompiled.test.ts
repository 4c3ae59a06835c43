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
});
