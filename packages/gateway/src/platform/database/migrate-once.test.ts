import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../testing/scratch-postgres.ts";
import { createDatabase } from "./create-database.ts";
import { migrations } from "./migrations/index.ts";

// Processes starting together on an empty PostgreSQL database (a deploy of several replicas)
// must run the migrations once. PGlite is one process's database: nothing to race with there.

let scratch: ScratchDatabase;

beforeAll(async () => {
  scratch = await createScratchDatabase();
});

afterAll(async () => {
  await scratch?.drop();
});

it.skipIf(!process.env.DATABASE_URL)(
  "runs the migrations once when four openers start at once on an empty database (PostgreSQL only)",
  { timeout: 180_000 },
  async () => {
    const opened = await Promise.allSettled(
      [1, 2, 3, 4].map(() => createDatabase({ url: scratch.url, poolSize: 2 })),
    );
    const handles = opened.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
    try {
      expect(opened.filter((o) => o.status === "rejected")).toEqual([]);
      const [first] = handles;
      if (!first) throw new Error("no database opened");
      const { rows } = await sql<{
        name: string;
      }>`select name from kysely_migration order by name`.execute(first.db);
      expect(rows.map((r) => r.name)).toEqual(Object.keys(migrations));
    } finally {
      for (const h of handles) await h.close();
    }
  },
);
