import { readFileSync } from "node:fs";

/**
 * CPU time of one local process (or, with `tid`, one of its threads) in ms, from schedstat (ns
 * on CPU) or else stat (clock ticks); undefined where /proc does not show it.
 */
export function processCpuMs(pid: number, tid?: number): number | undefined {
  const dir = tid === undefined ? `/proc/${pid}` : `/proc/${pid}/task/${tid}`;
  try {
    const ns = Number(readFileSync(`${dir}/schedstat`, "utf8").split(" ")[0]);
    if (Number.isFinite(ns)) return ns / 1e6;
  } catch {}
  try {
    // Fields 14 and 15 (utime, stime) in clock ticks; the name in field 2 may contain spaces.
    const stat = readFileSync(`${dir}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}
