import {
  HttpRequestError,
  InvalidParamsRpcError,
  LimitExceededRpcError,
  RpcRequestError,
  TimeoutError,
} from "viem";
import { describe, expect, it } from "vitest";
import { isLogRangeError } from "./is-log-range-error.ts";

/** An error shaped the way viem's client hands a node's JSON-RPC error to us. */
function nodeError(code: number, message: string) {
  const inner = new RpcRequestError({ body: {}, error: { code, message }, url: "http://node" });
  return code === -32005 ? new LimitExceededRpcError(inner) : new InvalidParamsRpcError(inner);
}

describe("isLogRangeError", () => {
  it.each([
    [-32005, "query returned more than 10000 results"], // Infura, geth
    [
      -32602,
      "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range",
    ], // Alchemy
    [-32602, "eth_getLogs is limited to a 10,000 range"], // QuickNode
    [-32600, "block range is too wide"], // Ankr, Polygon
    [-32000, "exceed maximum block range: 5000"], // BSC
    [-32602, "block range too large"],
    [-32000, "query exceeds max results 20000, retry with the range 100-200"],
    [
      -32602,
      "Under the Free tier plan, you can make eth_getLogs requests with up to a 10 block range.",
    ],
  ])("recognises %i %s", (code, message) => {
    expect(isLogRangeError(nodeError(code, message))).toBe(true);
  });

  it.each([
    ["a rate limit", nodeError(-32005, "daily request count exceeded, request rate limited")],
    [
      "a 429",
      new HttpRequestError({ url: "http://node", status: 429, details: "Too Many Requests" }),
    ],
    ["a timeout", new TimeoutError({ body: {}, url: "http://node" })],
    ["an unknown block", nodeError(-32000, "unknown block")],
  ])("does not mistake %s for a range refusal", (_, error) => {
    expect(isLogRangeError(error)).toBe(false);
  });
});
