import { PerformanceObserver } from "node:perf_hooks";

export interface GcPauses {
  /** Main-thread garbage-collection pauses (ms), summed since the observer started. */
  totalMs(): number;
  disconnect(): void;
}

export function observeGcPauses(): GcPauses {
  let total = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) total += entry.duration;
  });
  observer.observe({ entryTypes: ["gc"] });
  return { totalMs: () => total, disconnect: () => observer.disconnect() };
}
