import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { ConfigError } from "../config.ts";

/**
 * PGlite is an embedded database: two processes opening the same directory corrupt it. The
 * lock file holds the owner's pid; a lock whose process is gone (a crash) is taken over.
 */
export function lockDataDir(lockPath: string): () => void {
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
      const owner = Number(readFileSync(lockPath, "utf8"));
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new ConfigError(
          `DATA_DIR: the embedded database is in use by process ${owner}; stop it first, or use DATABASE_URL to share a PostgreSQL server`,
        );
      }
      unlinkSync(lockPath);
    }
  }
  throw new ConfigError(`DATA_DIR: cannot take the lock ${lockPath}`);
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
