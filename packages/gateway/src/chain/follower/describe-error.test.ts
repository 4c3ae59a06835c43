import { describe, expect, it } from "vitest";
import { RpcUnavailableError } from "./errors.ts";
import { describeError } from "./rpc-pool.ts";

describe("describeError", () => {
  it("names the endpoint's host in an every-URL-failed error (seen in the chaos run's RPC outage)", () => {
    const error = new RpcUnavailableError({
      chainKey: "arb",
      method: "eth_getBlock",
      failures: ["#1 http://127.0.0.1:35523: HTTP request failed. fetch failed"],
      cause: new Error("fetch failed"),
    });
    const text = describeError(error);
    expect(text).toContain("#1 http://127.0.0.1:35523: HTTP request failed");
    expect(text).not.toContain("unparseable");
  });

  it("hides a URL's path and query (often an API key) and keeps the punctuation after it", () => {
    expect(describeError(new Error("GET https://rpc.example/v2/SECRETKEY?x=1: 401"))).toBe(
      "GET https://rpc.example/…: 401",
    );
  });
});
