import { sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDatabase } from "../testing/test-database.ts";
import type { DatabaseHandle } from "./database/create-database.ts";
import { createLogger } from "./logger.ts";

// A failed statement's values (PGlite's err.params, PostgreSQL's err.detail) never reach a log
// line, at any level: the error handler logs unexpected errors whole.

let database: DatabaseHandle;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database?.close());

it("logs a database error's message and code without the statement's values", async () => {
  const db = database.db;
  await sql`create table log_probe (k text primary key)`.execute(db);
  const value = "merchant-secret-4242";
  await sql`insert into log_probe values (${value})`.execute(db);
  const err = await sql`insert into log_probe values (${value})`.execute(db).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  // The raw error does carry it, on one field or the other: this is what is stripped.
  expect(JSON.stringify({ ...(err as object) })).toContain(value);

  const lines: string[] = [];
  const log = createLogger({ level: "info", destination: { write: (l: string) => lines.push(l) } });
  log.error({ err, wrapped: new Error("outer", { cause: err }) }, "unhandled error");
  expect(lines).toHaveLength(1);
  const line = JSON.parse(lines[0] as string);
  expect(line.err.code).toBe("23505");
  expect(line.err.message).toMatch(/duplicate key/);
  expect(lines[0]).not.toContain(value);
});
