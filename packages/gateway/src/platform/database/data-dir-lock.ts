import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { ConfigError } from "../config.ts";

const embeddedDatabaseInUse = (owner: number) =>
  `DATA_DIR: the embedded database is in use by process ${owner}; stop it first, or use DATABASE_URL to share a PostgreSQL server`;

/**
 * PGlite is an embedded database: two processes opening the same directory corrupt it. The
 * lock file holds the owner's pid; a lock whose process is gone (a crash) is taken over.
 * `inUse` words the refusal (the sandbox takes a lock of its own on DATA_DIR).
 */
export function lockDataDir(
  lockPath: string,
  inUse: (owner: number) => string = embeddedDatabaseInUse,
): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(lockPath, "utf8") === String(process.pid)) unlinkSync(lockPath);
        } catch {}
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = lockOwner(lockPath);
      if (owner !== undefined) throw new ConfigError(inUse(owner));
      try {
        unlinkSync(lockPath);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
    }
  }
  throw new ConfigError(`DATA_DIR: cannot take the lock ${lockPath}`);
}

/** The pid of the live process holding the lock, or undefined (no lock, or its holder died). */
export function lockOwner(lockPath: string): number | undefined {
  let owner: number;
  try {
    owner = Number(readFileSync(lockPath, "utf8"));
  } catch {
    return undefined;
  }
  return Number.isInteger(owner) && owner > 0 && isAlive(owner) ? owner : undefined;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
