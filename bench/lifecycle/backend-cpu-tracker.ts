import pg from "pg";
import { processCpuMs } from "./process-cpu.ts";

export interface BackendCpuTracker {
  /** Samples now (serialised with the periodic samples) and returns the running total (ms). */
  total(): Promise<number | undefined>;
  close(): Promise<void>;
}

/**
 * The CPU of the PostgreSQL backends whose application_name is `appName`, summed: those alive at
 * the first sample from that moment on, later ones from their start. The pool closes idle
 * connections after 10 s and opens new ones, so the set is re-read at every sample. Undefined
 * when /proc does not show the backends (a server on another machine).
 */
export function createBackendCpuTracker(adminUrl: string, appName: string): BackendCpuTracker {
  const client = new pg.Client({
    connectionString: adminUrl,
    application_name: `${appName}_admin`,
  });
  const baseline = new Map<number, number>();
  const latest = new Map<number, number>();
  let unreadable = false;
  let first = true;
  let connected: Promise<unknown> | undefined;
  let queue: Promise<unknown> = Promise.resolve();

  async function sampleNow(): Promise<void> {
    connected ??= client.connect();
    await connected;
    const { rows } = await client.query<{ pid: number }>(
      "select pid from pg_stat_activity where application_name = $1",
      [appName],
    );
    for (const { pid } of rows) {
      const ms = processCpuMs(pid);
      if (ms === undefined) {
        unreadable = true;
        continue;
      }
      if (!baseline.has(pid)) baseline.set(pid, first ? ms : 0);
      latest.set(pid, ms);
    }
    first = false;
  }

  return {
    async total() {
      queue = queue.then(sampleNow, sampleNow);
      await queue;
      if (unreadable) return undefined;
      let sum = 0;
      for (const [pid, ms] of latest) sum += ms - (baseline.get(pid) ?? 0);
      return sum;
    },
    close: () => client.end(),
  };
}
