// The benchmarks' settings come from BENCH_* variables: read here, checked, and refused with the
// variable's name when wrong, before anything starts.

/** A number from the environment, `fallback` when unset or empty. */
export function envNumber(key: string, fallback: number, min: number, integer = true): number {
  const raw = process.env[key];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if ((integer && !Number.isInteger(n)) || !(n >= min))
    throw new Error(
      `${key} must be ${integer ? "an integer" : "a number"} >= ${min}, got ${JSON.stringify(raw)}`,
    );
  return n;
}

/** A comma-separated list of integers from the environment, `fallback` when unset or blank. */
export function envIntList(key: string, fallback: number[], min: number): number[] {
  const raw = process.env[key];
  if (raw === undefined || raw.trim() === "") return fallback;
  const values = raw.split(",").map((s) => Number(s.trim()));
  if (values.some((n) => !Number.isInteger(n) || n < min))
    throw new Error(
      `${key} must be a comma-separated list of integers >= ${min}, got ${JSON.stringify(raw)}`,
    );
  return values;
}

/** DATABASE_URL when set: the PostgreSQL server to use instead of PGlite. */
export function envDatabaseUrl(): string | undefined {
  const databaseUrl = process.env.DATABASE_URL || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error("DATABASE_URL must be a postgres:// or postgresql:// URL");
  }
  return databaseUrl;
}
