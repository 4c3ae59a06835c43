import { http } from "viem";

/**
 * viem's HTTP transport for a test's own calls to anvil, waiting a minute instead of viem's 10 s:
 * the gateway under test shares the test's event loop, and on a loaded CI machine (two suites
 * side by side on 2 cores) a stall of that loop made an answer that had already arrived count
 * as a node that never answered.
 */
export function testTransport(url: string) {
  return http(url, { timeout: 60_000 });
}
