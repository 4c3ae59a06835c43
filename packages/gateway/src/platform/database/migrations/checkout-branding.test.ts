import { createHash } from "node:crypto";
import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { logoDataUrl, logoPng } from "../../../testing/logo-png.ts";
import { createTestDatabase } from "../../../testing/test-database.ts";
import type { DatabaseHandle } from "../create-database.ts";
import { up } from "./2026-11-29-checkout-branding.ts";

// The migration's backfill: an organisation whose logo was saved as a data: URL before logos
// were stored gets its stored copy, so its checkout shows the logo without a new upload.

let database: DatabaseHandle;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.close());

it("stores the data: logos saved before it and leaves https ones unshown", async () => {
  const { db } = database;
  // Back to the schema before the migration (the test database is fully migrated).
  for (const statement of [
    "alter table organizations drop column logo_sha256",
    "drop table checkout_logos",
    "alter table payment_intents drop column description",
    "alter table payment_intents drop column return_url",
  ]) {
    await sql.raw(statement).execute(db);
  }
  const insert = (name: string, logo: string | null) =>
    sql<{
      id: number;
    }>`insert into organizations (name, default_chain_id, default_token_symbol, logo_url)
      values (${name}, 'arb', 'USDT', ${logo}) returning id`
      .execute(db)
      .then((r) => r.rows[0]?.id as number);
  const withData = await insert("Data logo", logoDataUrl());
  const sameData = await insert("Same logo", logoDataUrl());
  const withHttps = await insert("Https logo", "https://cdn.shop.example/logo.png");
  const without = await insert("No logo", null);

  await up(db as unknown as Kysely<unknown>);

  const sha = createHash("sha256").update(logoPng()).digest("hex");
  const orgs = await db
    .selectFrom("organizations")
    .select(["id", "logo_sha256"])
    .where("id", "in", [withData, sameData, withHttps, without])
    .orderBy("id")
    .execute();
  expect(orgs.map((o) => o.logo_sha256)).toEqual([sha, sha, null, null]);
  const stored = await db.selectFrom("checkout_logos").selectAll().execute();
  expect(stored).toHaveLength(1);
  expect(stored[0]?.content_type).toBe("image/png");
  expect(Buffer.from(stored[0]?.bytes ?? new Uint8Array()).equals(logoPng())).toBe(true);
});
