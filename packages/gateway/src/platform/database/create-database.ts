import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { Kysely, Migrator, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { ConfigError } from "../config.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { migrations } from "./migrations/index.ts";
import {
  createPgliteNotifications,
  createPostgresNotifications,
  type Notifications,
} from "./notifications.ts";
import { createPgliteDialect } from "./pglite-dialect.ts";
import { preparingPool } from "./prepared-statements.ts";
import type { Database } from "./schema.ts";
import { SchemaIntrospector } from "./schema-introspector.ts";

/**
 * PGlite's shared_buffers is PostgreSQL's 128 MB, all of it inside the WebAssembly memory, which
 * never shrinks: about 150 MB of the sandbox's resident memory for a database of a few megabytes.
 * 16 MB holds the hot pages of a sandbox or a small shop; the rest is read back through the
 * operating system's page cache (docs/decisions.md, 2026-11-28). maintenance_work_mem likewise
 * (64 MB by default): the gateway runs VACUUM itself on PGlite (table-maintenance.ts), and memory
 * it grew into would stay.
 */
const PGLITE_START_PARAMS = [
  ...PGlite.defaultStartParams,
  "-c",
  "shared_buffers=16MB",
  "-c",
  "maintenance_work_mem=8MB",
];

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: "postgres" | "pglite";
  /** LISTEN/NOTIFY in this database's schema; send with `notify()` from notifications.ts. */
  notifications: Notifications;
  close(): Promise<void>;
}

export interface CreateDatabaseOptions {
  /** postgres:// URL; when absent, PGlite is used. */
  url?: string | undefined;
  /** PGlite data directory; absent means in memory. Ignored for PostgreSQL. */
  dataDir?: string | undefined;
  /**
   * PGlite only: start from this dumped data directory (`dumpDataDir`) rather than an empty one.
   * Tests load an already migrated one: creating and migrating a PGlite costs seconds of CPU.
   */
  template?: Blob | undefined;
  /** PostgreSQL schema to live in (created if missing); tests use one per file. */
  schema?: string | undefined;
  poolSize?: number;
}

/** Opens the database (PostgreSQL when a URL is given, else PGlite) and applies pending migrations. */
export async function createDatabase(options: CreateDatabaseOptions): Promise<DatabaseHandle> {
  const schema = options.schema ?? "public";
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  let db: Kysely<Database>;
  let kind: DatabaseHandle["kind"];
  let notifications: Notifications;
  let unlock = () => {};
  if (options.url) {
    if (schema !== "public") {
      const admin = new pg.Client({ connectionString: options.url });
      await admin.connect();
      try {
        await admin.query(`create schema if not exists ${schema}`);
      } finally {
        await admin.end();
      }
    }
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      ...(schema === "public" ? {} : { options: `-c search_path=${schema}` }),
    });
    // A pool error on an idle client (server restart) must not crash the process; the next
    // query gets a fresh connection.
    pool.on("error", () => {});
    const dialect = new PostgresDialect({ pool: preparingPool(pool) });
    dialect.createIntrospector = (db) => new SchemaIntrospector(db, schema);
    db = new Kysely<Database>({ dialect });
    kind = "postgres";
    notifications = createPostgresNotifications(options.url, schema);
  } else {
    if (options.dataDir) {
      mkdirSync(path.dirname(options.dataDir), { recursive: true });
      unlock = lockDataDir(`${options.dataDir}.lock`);
    }
    try {
      if (options.dataDir && !options.template) await initPgliteDataDir(options.dataDir);
    } catch (err) {
      unlock();
      throw err;
    }
    // pg_trgm backs the admin API's substring searches (migration 2026-11-27-studio-payments).
    const client = new PGlite({
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(options.template ? { loadDataDir: options.template } : {}),
      extensions: { pg_trgm },
      startParams: PGLITE_START_PARAMS,
    });
    try {
      await client.waitReady;
    } catch (err) {
      unlock();
      throw err;
    }
    if (schema !== "public") {
      await client.exec(`create schema if not exists ${schema}; set search_path to ${schema}`);
    }
    db = new Kysely<Database>({ dialect: createPgliteDialect(client, schema) });
    kind = "pglite";
    notifications = createPgliteNotifications(client, db, schema);
  }
  try {
    if (kind === "postgres") await assertReachable(db, options.url ?? "");
    await migrate(db, schema);
  } catch (err) {
    await notifications.close();
    await db.destroy();
    unlock();
    throw err;
  }
  return {
    db,
    kind,
    notifications,
    async close() {
      await notifications.close();
      await db.destroy();
      unlock();
    },
  };
}

/**
 * Creates an empty data directory's cluster in a child process. PGlite runs initdb in a second
 * WebAssembly instance and hands the cluster over through a tarball in memory; in this process
 * that left 300-400 MB resident (garbage V8 seldom collects in an idle gateway, and malloc's
 * fragments) for the whole life of a first `stablegate dev`.
 */
async function initPgliteDataDir(dataDir: string): Promise<void> {
  if (existsSync(path.join(dataDir, "PG_VERSION"))) return;
  const script = `import { PGlite } from "@electric-sql/pglite";
const pg = new PGlite(${JSON.stringify(dataDir)});
await pg.waitReady;
await pg.close();`;
  try {
    // From this folder, so that the import finds our node_modules whatever the working directory.
    await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      cwd: fileURLToPath(new URL(".", import.meta.url)),
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`creating the PGlite database in ${dataDir} failed: ${stderr || err}`, {
      cause: err,
    });
  }
}

async function migrate(db: Kysely<Database>, schema: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    // Named explicitly: kysely otherwise finds a migration table in any schema of the database.
    migrationTableSchema: schema,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName;
    const which = failed ? `migration ${failed}` : "migrating the database";
    throw new Error(`${which} failed: ${(error as Error).message}`, { cause: error });
  }
}

/** A wrong or unreachable DATABASE_URL is a configuration problem: say so, naming the host. */
async function assertReachable(db: Kysely<Database>, url: string): Promise<void> {
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    let host = "the server";
    try {
      const u = new URL(url);
      host = `${u.hostname}:${u.port || "5432"}/${u.pathname.slice(1)}`;
    } catch {}
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(
      `DATABASE_URL: cannot use ${host}: ${e.code ?? ""} ${e.message}`.replace(/\s+/g, " "),
      {
        cause: err,
      },
    );
  }
}
