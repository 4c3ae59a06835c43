import { hostname } from "node:os";
import path from "node:path";
import pg from "pg";
import type { Config } from "../platform/config.ts";
import { ConfigError } from "../platform/config.ts";
import { lockDataDir } from "../platform/database/data-dir-lock.ts";

/** One key for every sandbox: the local chain's key ("local") and its stored blocks are shared. */
const SANDBOX_LOCK_KEY = 0x5a4d_b0c5;
const APPLICATION_NAME = "stablegate sandbox";

/**
 * One sandbox per data directory (its sandbox.json, seed and chain state) and per database (the
 * `local` chain's blocks and the sandbox organisation). The data directory lock is a pid file;
 * on PostgreSQL a session advisory lock is held on a connection of its own, which the server
 * releases when that connection ends, so a sandbox killed with -9 leaves nothing behind.
 */
export async function lockSandbox(config: Config): Promise<() => Promise<void>> {
  const unlockDir = lockDataDir(
    path.join(config.DATA_DIR, "sandbox.lock"),
    (owner) =>
      `DATA_DIR: another sandbox (process ${owner}) is running on ${config.DATA_DIR}; stop it first, or give this one its own DATA_DIR`,
  );
  if (!config.DATABASE_URL) return async () => unlockDir();
  const who = `pid ${process.pid} on ${hostname()}, DATA_DIR ${config.DATA_DIR}`;
  const client = new pg.Client({
    connectionString: config.DATABASE_URL,
    application_name: `${APPLICATION_NAME} (${who})`.slice(0, 63),
  });
  try {
    await client.connect().catch((e: NodeJS.ErrnoException) => {
      throw new ConfigError(`DATABASE_URL: cannot connect: ${e.code ?? ""} ${e.message}`.trim());
    });
    // Dropped connections must not crash the sandbox; the lock is then gone with them.
    client.on("error", () => {});
    const { rows } = await client.query<{ locked: boolean }>(
      "select pg_try_advisory_lock($1) as locked",
      [SANDBOX_LOCK_KEY],
    );
    if (!rows[0]?.locked) {
      const holder = await client.query<{ application_name: string }>(
        `select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
         where l.locktype = 'advisory' and l.objid = $1 and l.granted and l.database = (
           select oid from pg_database where datname = current_database()) limit 1`,
        [SANDBOX_LOCK_KEY],
      );
      const name = holder.rows[0]?.application_name;
      throw new ConfigError(
        `DATABASE_URL: another sandbox is running on this database${name ? ` (${name})` : ""}; stop it first, or give this sandbox its own database`,
      );
    }
  } catch (err) {
    await client.end().catch(() => {});
    unlockDir();
    throw err;
  }
  return async () => {
    await client.end().catch(() => {});
    unlockDir();
  };
}
