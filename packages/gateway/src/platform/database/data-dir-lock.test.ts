import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { createDatabase } from "./create-database.ts";
import { lockDataDir } from "./data-dir-lock.ts";

it("refuses a second opener of the same embedded database, naming the holder", async () => {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), "sg-lock-")), "pglite");
  const first = await createDatabase({ dataDir });
  await expect(createDatabase({ dataDir })).rejects.toThrow(
    new RegExp(`DATA_DIR: the embedded database is in use by process ${process.pid}`),
  );
  await first.close();
  expect(existsSync(`${dataDir}.lock`)).toBe(false);
  const again = await createDatabase({ dataDir });
  await again.close();
});

it("takes over the lock of a process that died without releasing it", () => {
  const lockPath = path.join(mkdtempSync(path.join(tmpdir(), "sg-lock-")), "db.lock");
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  writeFileSync(lockPath, dead.stdout.toString());
  const release = lockDataDir(lockPath);
  expect(() => lockDataDir(lockPath)).toThrow(/in use by process/);
  release();
  expect(existsSync(lockPath)).toBe(false);
});
