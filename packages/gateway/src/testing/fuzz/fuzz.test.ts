import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatFailure } from "./fuzz-report.ts";
import { readOperations } from "./fuzz-requests.ts";
import { type FuzzWorld, startFuzzWorld } from "./fuzz-world.ts";
import { check, runFuzz } from "./run-fuzz.ts";

// The bounded run of `npm run fuzz` (docs/reliability.md#fuzzing): a few requests per operation
// on every run of the suite, a new seed each time (printed on failure, to replay with the CLI).

let world: FuzzWorld;
beforeAll(async () => {
  world = await startFuzzWorld();
});
afterAll(() => world?.close());

describe("npm run fuzz, bounded", () => {
  it("every operation answers every request without a 5xx, a vague error, a refused write or a leak", async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const reports = await runFuzz(world, { runs: Number(process.env.FUZZ_RUNS ?? 3), seed });
    const failures = reports.filter((r) => r.failure).map(formatFailure);
    expect(failures, `seed ${seed}`).toEqual([]);
    // Every operation of the document was fuzzed.
    const doc = await (await fetch(`${world.url}/openapi.json`)).json();
    expect(reports.map((r) => r.id)).toEqual(readOperations(doc).map((op) => op.id));
    expect(reports.every((r) => r.requests > 0)).toBe(true);
  }, 180_000);

  it("the checks fail on a 5xx, an envelope without a code, a write by a refused request and a leak", async () => {
    // The run above passes only if the checks can fail: here they judge answers that are wrong
    // on purpose, and a real write between the two snapshots.
    const doc = await (await fetch(`${world.url}/openapi.json`)).json();
    const op = readOperations(doc).find((o) => o.id === "GET /v1/studio/api/payment/intents");
    if (!op) throw new Error("the document lost the list of intents");
    const req = {
      variant: "valid",
      method: "GET",
      path: op.path,
      auth: { kind: "api", key: "A" } as const,
      headers: {},
      mustRefuse: true,
    };
    const sent = { method: "GET", path: op.path, headers: {} };
    const before = await world.snapshot();
    const created = await fetch(`${world.url}/v1/studio/api/payment/intent`, {
      method: "POST",
      headers: { "x-studio-api-key": world.a.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ fiat_amount: "5", fiat_currency: "USD" }),
    });
    expect(created.status).toBe(200);
    const after = await world.snapshot();
    const problems = check(
      op,
      req,
      sent,
      { status: 500, text: '{"message":"internal error"}', contentType: "application/json" },
      before,
      after,
      world,
    );
    expect(problems).toEqual([
      "answered 500",
      "error envelope's code undefined is not a numeric error code",
      'error message "internal error" does not name the problem',
      "refused, yet wrote to payment_intent_status_history, payment_intents",
    ]);
    const leak = check(
      op,
      { ...req, mustRefuse: false },
      sent,
      {
        status: 200,
        text: JSON.stringify({ code: 0, data: { items: [{ client_id: world.b.clientId }] } }),
        contentType: "application/json",
      },
      after,
      after,
      world,
    );
    expect(leak).toEqual([`answer holds organisation ${world.b.orgId}'s "${world.b.clientId}"`]);
    const accepted = check(
      op,
      req,
      sent,
      { status: 200, text: "{}", contentType: "" },
      after,
      after,
      world,
    );
    expect(accepted).toEqual(["accepted (200) a request that must be refused (valid)"]);
  });
});
