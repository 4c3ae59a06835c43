export interface Stats {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles. */
export function stats(values: number[]): Stats {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return {
    n: s.length,
    min: s[0] ?? Number.NaN,
    p50: at(0.5) ?? Number.NaN,
    p90: at(0.9) ?? Number.NaN,
    p99: at(0.99) ?? Number.NaN,
    max: s.at(-1) ?? Number.NaN,
  };
}
