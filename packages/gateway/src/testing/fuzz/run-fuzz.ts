import fc from "fast-check";
import {
  type AuthChoice,
  type FuzzRequest,
  type IdPools,
  type Operation,
  readOperations,
  requestArbitrary,
} from "./fuzz-requests.ts";
import type { FuzzWorld, Principal } from "./fuzz-world.ts";
import { createResolver, type JsonSchema } from "./schema-arbitrary.ts";

// One property per operation of the OpenAPI document: whatever is sent, the gateway answers
// without a 5xx, every error is the envelope with a numeric code and a message that names the
// problem, a refused request leaves every table as it was, a request that is certainly wrong is
// refused, and one organisation's credentials never read the other's data.

export interface FuzzOptions {
  runs: number;
  seed: number;
  /** Only the operations whose id ("POST /v1/…") contains this. */
  operation?: string;
  /** Called as each operation finishes. */
  onReport?: (report: OperationReport) => void;
}

/** A request as it went on the wire. */
export interface SentRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface OperationReport {
  id: string;
  requests: number;
  /** Wall time of the operation's runs (requests, snapshots, shrinking). */
  ms: number;
  statuses: Map<number, number>;
  /** Statuses answered that the operation's responses do not list. */
  undocumented: Set<number>;
  failure?: {
    message: string;
    variant: string;
    request: SentRequest;
    status: number;
    response: string;
    replay: string;
  };
}

export async function runFuzz(world: FuzzWorld, options: FuzzOptions): Promise<OperationReport[]> {
  const doc = (await (await fetch(`${world.url}/openapi.json`)).json()) as JsonSchema;
  const resolve = createResolver(doc);
  const operations = readOperations(doc).filter(
    (op) => options.operation === undefined || op.id.includes(options.operation),
  );
  if (operations.length === 0) throw new Error(`no operation matches ${options.operation}`);
  const reports: OperationReport[] = [];
  let current = await world.snapshot();
  for (const op of operations) {
    const report: OperationReport = {
      id: op.id,
      requests: 0,
      ms: 0,
      statuses: new Map(),
      undocumented: new Set(),
    };
    let last:
      | { request: SentRequest; status: number; response: string; problems: string[] }
      | undefined;
    const property = fc.asyncProperty(
      requestArbitrary(op, resolve, pools(op, world)),
      async (req) => {
        if (await world.ensureLive()) current = await world.snapshot();
        const sent = materialise(req, world);
        const { status, text, contentType } = await send(world.url, sent);
        report.requests += 1;
        report.statuses.set(status, (report.statuses.get(status) ?? 0) + 1);
        if (!op.statuses.has(status)) report.undocumented.add(status);
        const after = await world.snapshot();
        const problems = check(op, req, sent, { status, text, contentType }, current, after, world);
        current = after;
        last = { request: sent, status, response: text.slice(0, 2000), problems };
        if (problems.length > 0) throw new Error(problems.join("; "));
      },
    );
    const started = performance.now();
    const details = await fc.check(property, { numRuns: options.runs, seed: options.seed });
    report.ms = performance.now() - started;
    if (details.failed && details.counterexample) {
      // The shrunk request is the last one the property failed on; run it again to report it.
      const [req] = details.counterexample;
      if (await world.ensureLive()) current = await world.snapshot();
      const sent = materialise(req, world);
      const res = await send(world.url, sent);
      const after = await world.snapshot();
      const problems = check(op, req, sent, res, current, after, world);
      current = after;
      const shown =
        problems.length > 0
          ? { request: sent, status: res.status, response: res.text.slice(0, 2000), problems }
          : last;
      report.failure = {
        message: (shown?.problems ?? []).join("; ") || String(details.errorInstance),
        variant: req.variant,
        request: shown?.request ?? sent,
        status: shown?.status ?? res.status,
        response: shown?.response ?? "",
        replay: `--seed ${details.seed} --operation '${op.id}' (counterexample path ${details.counterexamplePath})`,
      };
    } else if (details.failed) {
      report.failure = {
        message: String(details.errorInstance),
        variant: "",
        request: { method: op.method, path: op.path, headers: {} },
        status: 0,
        response: "",
        replay: `--seed ${details.seed} --operation '${op.id}'`,
      };
    }
    reports.push(report);
    options.onReport?.(report);
  }
  return reports;
}

function pools(op: Operation, world: FuzzWorld): IdPools {
  const { a, b } = world;
  const own: Record<string, string[]> =
    op.auth === "operator"
      ? { orgId: [String(a.orgId), String(b.orgId)], "*": [...a.ids, ...b.ids] }
      : { orgId: [String(a.orgId)], userId: [String(a.userId)], "*": a.ids };
  // Only ids that cannot also be this organisation's: a number may be a key of either.
  const foreign = {
    orgId: [String(b.orgId)],
    userId: [String(b.userId)],
    "*": b.ids.filter((id) => /\D/.test(id)),
  };
  return { own, foreign };
}

async function send(base: string, req: SentRequest) {
  try {
    return await sendOnce(base, req);
  } catch (err) {
    // A 413 closes its connection before the body is read (create-app.ts); a request already on
    // its way over that kept-alive socket fails in the client. Once more, on a new connection;
    // a second failure is the gateway's.
    if (!(err instanceof TypeError)) throw err;
    return await sendOnce(base, req);
  }
}

async function sendOnce(base: string, req: SentRequest) {
  const res = await fetch(`${base}${req.path}`, {
    method: req.method,
    headers: req.headers,
    redirect: "manual",
    ...(req.body === undefined ? {} : { body: req.body }),
    // Generous: an answer this late is itself a finding, and a hung request must not hang the run.
    signal: AbortSignal.timeout(60_000),
  });
  const contentType = res.headers.get("content-type") ?? "";
  if (contentType.startsWith("text/event-stream")) {
    // An event stream stays open: its status and headers are the answer.
    await res.body?.cancel();
    return { status: res.status, text: "", contentType };
  }
  return { status: res.status, text: await res.text(), contentType };
}

function principalOf(who: string, world: FuzzWorld): Principal | undefined {
  return who === "A" ? world.a : who === "B" ? world.b : undefined;
}

const BOGUS_KEY = `sk_${"f".repeat(48)}`;
const BOGUS_CLIENT = "0123456789abcdef0123456789abcdef";

export function materialise(req: FuzzRequest, world: FuzzWorld): SentRequest {
  const headers: Record<string, string> = {
    ...req.headers,
    ...authHeaders(req.auth, world),
    ...req.overrideHeaders,
  };
  return {
    method: req.method,
    path: req.path,
    headers,
    ...(req.body === undefined ? {} : { body: req.body }),
  };
}

function authHeaders(auth: AuthChoice, world: FuzzWorld): Record<string, string> {
  const h: Record<string, string> = {};
  if (auth.kind === "api") {
    if (auth.key !== undefined) {
      h["x-studio-api-key"] =
        auth.key === "revoked"
          ? world.a.revokedKey
          : (principalOf(auth.key, world)?.apiKey ?? BOGUS_KEY);
    }
    if (auth.client !== undefined)
      h["x-client-id"] = principalOf(auth.client, world)?.clientId ?? BOGUS_CLIENT;
    if (auth.origin !== undefined)
      h.origin = principalOf(auth.origin, world)?.origin ?? "https://evil.example";
  } else if (auth.kind === "session") {
    const creds =
      auth.who === "operator"
        ? world.operator
        : auth.who === "bogus"
          ? undefined
          : principalOf(auth.who, world);
    h.cookie = `stablegate_session=${creds ? creds.cookie.replace(/^stablegate_session=/, "") : "bogus"}`;
    const other = auth.who === "B" ? world.a : auth.who === "A" ? world.b : world.a;
    if (auth.csrf === "own") h["x-csrf-token"] = creds?.csrf ?? "bogus";
    else if (auth.csrf === "other") h["x-csrf-token"] = other.csrf;
    else if (auth.csrf === "bogus") h["x-csrf-token"] = "bogus";
  }
  return h;
}

// Messages that name nothing: an error must say what was wrong with the request.
const VAGUE =
  /^(bad request|invalid|invalid request|request refused|error|not found|forbidden|unauthorized|internal error|malformed)$/i;

export function check(
  op: Operation,
  req: FuzzRequest,
  sent: SentRequest,
  res: { status: number; text: string; contentType: string },
  before: Map<string, string>,
  after: Map<string, string>,
  world: FuzzWorld,
): string[] {
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`answered ${res.status}`);
  if (res.status >= 400) {
    let body: { code?: unknown; message?: unknown; data?: { field?: unknown } } | undefined;
    try {
      body = JSON.parse(res.text);
    } catch {
      body = undefined;
    }
    if (!/^application\/json/i.test(res.contentType) || body === undefined || body === null) {
      problems.push(
        `error ${res.status} is not the JSON envelope (${res.contentType || "no content type"})`,
      );
    } else {
      const { code, message } = body;
      if (typeof code !== "number" || !Number.isInteger(code) || code < 4000 || code > 5999) {
        problems.push(`error envelope's code ${JSON.stringify(code)} is not a numeric error code`);
      } else if (Math.floor(code / 1000) !== Math.floor(res.status / 100)) {
        problems.push(`code ${code} does not match HTTP ${res.status}`);
      }
      if (typeof message !== "string" || message.trim().length < 8 || VAGUE.test(message.trim())) {
        problems.push(`error message ${JSON.stringify(message)} does not name the problem`);
      }
      const field = body.data?.field;
      if (typeof field === "string" && typeof message === "string" && !message.startsWith(field)) {
        problems.push(`message ${JSON.stringify(message)} does not start with its field ${field}`);
      }
    }
    const changed = [...after].filter(([table, sum]) => before.get(table) !== sum).map(([t]) => t);
    if (changed.length > 0) problems.push(`refused, yet wrote to ${changed.join(", ")}`);
  } else if (req.mustRefuse) {
    problems.push(`accepted (${res.status}) a request that must be refused (${req.variant})`);
  }
  // Whose data may this answer hold? The caller's own; none of it without credentials.
  const caller =
    req.auth.kind === "api"
      ? (req.auth.key ?? req.auth.client)
      : req.auth.kind === "session"
        ? req.auth.who
        : "none";
  const asked = `${sent.path}\n${JSON.stringify(sent.headers)}\n${sent.body ?? ""}`;
  const outsiders =
    caller === "operator"
      ? []
      : caller === "A"
        ? [world.b]
        : caller === "B"
          ? [world.a]
          : op.auth === "public"
            ? []
            : [world.a, world.b];
  for (const p of outsiders) {
    // A public route answers about the id it is given (the hosted checkout of an intent).
    if (op.auth === "public" && p.ids.some((id) => asked.includes(id))) continue;
    const leaked = p.secrets.filter(
      (s) => s.length >= 6 && res.text.includes(s) && !asked.includes(s),
    );
    if (leaked.length > 0) {
      problems.push(
        `answer holds organisation ${p.orgId}'s ${leaked.map((s) => JSON.stringify(s.slice(0, 40))).join(", ")}`,
      );
    }
  }
  return problems;
}
