import { BaseError } from "viem";

// Providers word "this eth_getLogs asks for too much" in many ways; these cover Infura, Alchemy,
// QuickNode, Ankr, BSC and Polygon public nodes, Erigon and geth. A refusal we do not recognise is
// treated like any other RPC failure (fail over, back off), so an unknown wording slows a backfill
// down but never loses logs.
const RANGE_REFUSAL =
  /block range|range (is )?too (large|wide|big)|too (many|large) (results|logs|blocks)|more than [\d,]+ (results|logs|blocks)|exceeds? (the )?max|exceeded (the )?max|(limited|limit) to (a )?[\d,]+|range limit|response size|response body exceeded|max(imum)? (block )?range|greater than [\d,]+ max|query timeout|result set too large/i;

// A rate limit is the provider's state, not the query's size: halving the range would not help.
const RATE_LIMIT = /rate.?limit|too many requests|request count|capacity|credits|daily|per second/i;

/** True when a node refused an eth_getLogs call because of its range or result size. */
export function isLogRangeError(error: unknown): boolean {
  const text = errorTexts(error).join("\n");
  return RANGE_REFUSAL.test(text) && !RATE_LIMIT.test(text);
}

function errorTexts(error: unknown): string[] {
  const texts: string[] = [];
  let current: unknown = error;
  // viem nests the node's own message in `details` of an inner error; walk the whole chain.
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (current instanceof BaseError) {
      texts.push(current.shortMessage);
      if (current.details) texts.push(current.details);
    } else if (current instanceof Error) {
      texts.push(current.message);
    } else {
      texts.push(String(current));
      break;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return texts;
}
