import fc from "fast-check";
import {
  createResolver,
  invalidValue,
  type JsonSchema,
  nastyStrings,
  objectFields,
  type Resolve,
  toJsonText,
  validValue,
} from "./schema-arbitrary.ts";

// Requests for every operation of the gateway's OpenAPI document: valid ones (from the schemas
// and their examples, with ids the organisation owns) and the many ways to get one wrong. Who
// sends it is symbolic (`auth`): the run fills in the live credentials at send time, since a
// request may end a session or revoke a key the next one would use.

/** Which credentials an operation takes, read from its `security` (the document's default: API). */
export type AuthKind = "api" | "session" | "operator" | "public";

export interface Operation {
  id: string;
  method: string;
  path: string;
  auth: AuthKind;
  pathParams: { name: string; schema: JsonSchema }[];
  query: { name: string; schema: JsonSchema; required: boolean }[];
  headers: { name: string; schema: JsonSchema; required: boolean }[];
  body?: { schema: JsonSchema; required: boolean };
  /** The statuses the document lists. */
  statuses: Set<number>;
}

export type Who = "A" | "B" | "operator" | "bogus";
export type AuthChoice =
  | { kind: "none" }
  | { kind: "api"; key?: Who | "revoked"; client?: Who; origin?: Who }
  | { kind: "session"; who: Who; csrf: "own" | "none" | "other" | "bogus" };

export interface FuzzRequest {
  /** How this request was made: "valid", or the mistake in it. */
  variant: string;
  method: string;
  /** Path and query, percent-encoded. */
  path: string;
  auth: AuthChoice;
  headers: Record<string, string>;
  body?: string;
  /** The gateway must refuse it (a 4xx): it is certainly wrong. */
  mustRefuse: boolean;
  /** Headers set after the credentials, to send odd values in their place. */
  overrideHeaders?: Record<string, string>;
}

export function readOperations(doc: JsonSchema): Operation[] {
  const resolve = createResolver(doc);
  const operations: Operation[] = [];
  const defaultSecurity = doc.security ?? [];
  for (const [path, item] of Object.entries<JsonSchema>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<JsonSchema>(item)) {
      if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
      const security: JsonSchema[] = op.security ?? defaultSecurity;
      const schemes = security.flatMap((s) => Object.keys(s));
      const auth: AuthKind =
        schemes.length === 0
          ? "public"
          : schemes.includes("StudioSession")
            ? path.includes("/operator/")
              ? "operator"
              : "session"
            : "api";
      const params: JsonSchema[] = (op.parameters ?? []).map((p: JsonSchema) => resolve(p));
      const of = (where: string) =>
        params
          .filter((p) => p.in === where)
          .map((p) => ({
            name: p.name as string,
            schema: p.schema ?? {},
            required: p.required === true,
          }));
      const content = op.requestBody?.content?.["application/json"];
      operations.push({
        id: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        auth,
        pathParams: of("path"),
        query: of("query"),
        headers: of("header").filter(
          (h) => !["x-client-id", "origin", "x-studio-api-key"].includes(h.name.toLowerCase()),
        ),
        ...(content
          ? { body: { schema: content.schema ?? {}, required: op.requestBody.required === true } }
          : {}),
        statuses: new Set(Object.keys(op.responses ?? {}).map(Number)),
      });
    }
  }
  return operations;
}

/** encodeURIComponent, except a lone surrogate becomes its WTF-8 bytes instead of a throw. */
export function encodeComponent(s: string): string {
  let out = "";
  for (const ch of s) {
    const cu = ch.charCodeAt(0);
    if (ch.length === 1 && cu >= 0xd800 && cu <= 0xdfff) {
      out += [0xed, 0xa0 | ((cu >> 6) & 0x0f), 0x80 | (cu & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join("");
    } else {
      out += encodeURIComponent(ch);
    }
  }
  return out;
}

export interface IdPools {
  /** Ids the caller owns, by path parameter name ("orgId"), and for any other name ("*"). */
  own: Record<string, string[]>;
  foreign: Record<string, string[]>;
}

const poolFor = (pools: Record<string, string[]>, name: string): string[] =>
  pools[name] ?? pools["*"] ?? [];

const nastyPathValues: readonly string[] = [
  ...nastyStrings.filter((s) => s !== "" && s.length < 1000),
  "0",
  "-1",
  "1.5",
  "1e3",
  "999999999999999999999",
  "x".repeat(600),
];

// A session's CSRF token matters only on requests that change something.
const changes = (method: string) => method !== "GET";

function validAuth(op: Operation): fc.Arbitrary<AuthChoice> {
  switch (op.auth) {
    case "public":
      return fc.constant({ kind: "none" });
    case "operator":
      return fc.constant({ kind: "session", who: "operator", csrf: "own" });
    case "session":
      return fc.constant({ kind: "session", who: "A", csrf: "own" });
    case "api":
      return fc.constantFrom<AuthChoice>(
        { kind: "api", key: "A" },
        { kind: "api", key: "A", client: "A" },
        { kind: "api", client: "A", origin: "A" },
      );
  }
}

/** Credentials that must not get in: [choice, whether any operation must refuse it]. */
function badAuth(op: Operation): fc.Arbitrary<[AuthChoice, boolean]> {
  const guarded = op.auth !== "public";
  const session = (who: Who, csrf: "own" | "none" | "other" | "bogus"): [AuthChoice, boolean] => [
    { kind: "session", who, csrf },
    guarded && (csrf === "own" || changes(op.method)),
  ];
  const api = (
    choice: Omit<Extract<AuthChoice, { kind: "api" }>, "kind">,
  ): [AuthChoice, boolean] => [{ kind: "api", ...choice }, guarded];
  const choices: [AuthChoice, boolean][] = [
    [{ kind: "none" }, guarded],
    session("bogus", "bogus"),
    api({ key: "bogus" }),
    api({ key: "revoked" }),
    api({ key: "A", client: "B" }),
    api({ key: "A", client: "bogus" }),
    api({ client: "A", origin: "bogus" }),
    api({ client: "A" }),
    api({ client: "bogus", origin: "A" }),
    api({ client: "B", origin: "A" }),
  ];
  if (op.auth === "session" || op.auth === "operator") {
    choices.push(
      session(op.auth === "operator" ? "operator" : "A", "none"),
      session(op.auth === "operator" ? "operator" : "A", "other"),
      session(op.auth === "operator" ? "operator" : "A", "bogus"),
    );
  }
  if (op.auth === "operator") choices.push(session("A", "own"));
  return fc.constantFrom(...choices);
}

interface Parts {
  pathValues: Record<string, string>;
  query: [string, string][];
  headers: Record<string, string>;
  body?: unknown;
}

export function requestArbitrary(
  op: Operation,
  resolve: Resolve,
  pools: IdPools,
): fc.Arbitrary<FuzzRequest> {
  const pathValue = (schema: JsonSchema, pool: string[]) =>
    pool.length === 0
      ? validValue(schema, resolve).map(String)
      : fc.oneof(
          { arbitrary: fc.constantFrom(...pool), weight: 3 },
          { arbitrary: validValue(schema, resolve).map(String), weight: 1 },
        );
  const pathValues = fc.record(
    Object.fromEntries(
      op.pathParams.map((p) => [p.name, pathValue(p.schema, poolFor(pools.own, p.name))]),
    ),
  ) as fc.Arbitrary<Record<string, string>>;
  const query = fc
    .tuple(
      ...op.query.map((q) =>
        (q.required
          ? validValue(q.schema, resolve).map((v) => [v])
          : fc
              .option(validValue(q.schema, resolve), { nil: undefined })
              .map((v) => (v === undefined ? [] : [v]))
        ).map((vs) =>
          vs
            .flatMap((v) => (Array.isArray(v) ? v : [v]))
            .map((v): [string, string] => [q.name, String(v)]),
        ),
      ),
    )
    .map((lists) => lists.flat());
  const headers = fc
    .tuple(
      ...op.headers.map((h) =>
        fc
          .option(validValue(h.schema, resolve), { nil: undefined, freq: h.required ? 100 : 2 })
          .map((v) => (v === undefined ? [] : [[h.name, String(v)] as [string, string]])),
      ),
    )
    .map((pairs) => Object.fromEntries(pairs.flat()));
  const body = op.body ? validValue(op.body.schema, resolve) : fc.constant(undefined);
  const valid: fc.Arbitrary<Parts> = fc
    .record({ pathValues, query, headers, body })
    .map(({ body: b, ...rest }) => (op.body ? { ...rest, body: b } : rest));

  const build = (
    variant: string,
    parts: Parts,
    auth: AuthChoice,
    options: {
      mustRefuse?: boolean;
      rawBody?: string;
      contentType?: string | null;
    } = {},
  ): FuzzRequest => {
    let path = op.path.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeComponent(parts.pathValues[name] ?? ""),
    );
    if (parts.query.length > 0) {
      path += `?${parts.query.map(([k, v]) => `${encodeComponent(k)}=${encodeComponent(v)}`).join("&")}`;
    }
    const headers = { ...parts.headers };
    let body: string | undefined;
    if (op.method !== "GET") {
      body = options.rawBody ?? (parts.body === undefined ? undefined : toJsonText(parts.body));
      const contentType =
        options.contentType === undefined ? "application/json" : options.contentType;
      if (body !== undefined && contentType !== null) headers["content-type"] = contentType;
    }
    return {
      variant,
      method: op.method,
      path,
      auth,
      headers,
      ...(body === undefined ? {} : { body }),
      mustRefuse: options.mustRefuse ?? false,
    };
  };

  const mistakes: fc.Arbitrary<FuzzRequest>[] = [];
  const auth = validAuth(op);

  // Valid requests, as the document describes them.
  const validRequest = fc.tuple(valid, auth).map(([parts, a]) => build("valid", parts, a));

  // Credentials: missing, unknown, revoked, another organisation's, no or a wrong CSRF token.
  mistakes.push(
    fc
      .tuple(valid, badAuth(op))
      .map(([parts, [a, mustRefuse]]) =>
        build(`auth:${describeAuth(a)}`, parts, a, { mustRefuse }),
      ),
  );

  // The other organisation's ids, with this one's credentials.
  const foreignParams = op.pathParams.filter((p) => poolFor(pools.foreign, p.name).length > 0);
  if (foreignParams.length > 0 && op.auth !== "operator") {
    mistakes.push(
      fc
        .constantFrom(...foreignParams)
        .chain((p) =>
          fc.tuple(
            valid,
            auth,
            fc.constant(p.name),
            fc.constantFrom(...poolFor(pools.foreign, p.name)),
          ),
        )
        .map(([parts, a, name, id]) =>
          build(
            `foreign-id:${name}`,
            { ...parts, pathValues: { ...parts.pathValues, [name]: id } },
            a,
            // An id names one thing: another organisation's must be refused on a guarded route.
            { mustRefuse: op.auth === "session" || op.auth === "api" },
          ),
        ),
    );
  }

  // A path parameter that is not an id: wrong types, NUL, lone surrogates, huge numbers.
  if (op.pathParams.length > 0) {
    mistakes.push(
      fc
        .tuple(
          valid,
          auth,
          fc.constantFrom(...op.pathParams.map((p) => p.name)),
          fc.constantFrom(...nastyPathValues),
        )
        .map(([parts, a, name, v]) =>
          build(`path:${name}`, { ...parts, pathValues: { ...parts.pathValues, [name]: v } }, a),
        ),
    );
  }

  // Query parameters: the documented ones with wrong values, repeated; unknown ones.
  const queryNames = op.query.map((q) => q.name);
  mistakes.push(
    fc
      .tuple(
        valid,
        auth,
        fc.constantFrom(...queryNames, "unknown", "page_size"),
        fc.oneof(
          fc.constantFrom(...nastyStrings.filter((s) => s.length < 1000)),
          fc.string({ unit: "binary", maxLength: 12 }),
        ),
        fc.boolean(),
      )
      .map(([parts, a, name, v, twice]) =>
        build(
          `query:${name}`,
          {
            ...parts,
            query: [...parts.query, [name, v], ...(twice ? [[name, v] as [string, string]] : [])],
          },
          a,
        ),
      ),
  );

  // Headers with values no client should send: latin-1 only (the Fetch API's limit), long, odd.
  mistakes.push(
    fc
      .tuple(
        valid,
        auth,
        fc.constantFrom(...op.headers.map((h) => h.name), ...authHeaderNames),
        fc.constantFrom(...nastyHeaderValues),
      )
      .map(([parts, a, name, v]) => {
        const req = build(`header:${name}`, parts, a);
        return { ...req, overrideHeaders: { [name]: v } };
      }),
  );

  if (op.body) {
    const { names, required } = objectFields(op.body.schema, resolve);
    const mustRefuseBody = op.body.required;
    // One field with a value of the wrong type, or a nasty string, number or nesting.
    mistakes.push(
      fc
        .tuple(
          valid,
          auth,
          fc.constantFrom(...names, "unexpected_field"),
          fc.oneof(invalidValue(), deep()),
        )
        .map(([parts, a, name, v]) =>
          build(
            `body:field:${name}`,
            { ...parts, body: { ...asObject(parts.body), [name]: v } },
            a,
          ),
        ),
    );
    if (required.length > 0) {
      mistakes.push(
        fc.tuple(valid, auth, fc.constantFrom(...required)).map(([parts, a, name]) => {
          const { [name]: _, ...rest } = asObject(parts.body);
          return build(`body:missing:${name}`, { ...parts, body: rest }, a, { mustRefuse: true });
        }),
      );
    }
    // The same key twice: JSON.parse keeps the last, a naive check might read the first.
    if (names.length > 0) {
      mistakes.push(
        fc
          .tuple(valid, auth, fc.constantFrom(...names), invalidValue(), fc.boolean())
          .map(([parts, a, name, v, badFirst]) => {
            const obj = asObject(parts.body);
            const good = toJsonText(obj);
            const extra = `${JSON.stringify(name)}:${toJsonText(v)}`;
            const raw = badFirst
              ? `{${extra}${good === "{}" ? "" : `,${good.slice(1, -1)}`}}`
              : `${good.slice(0, -1)}${good === "{}" ? "" : ","}${extra}}`;
            return build(`body:duplicate-key:${name}`, parts, a, { rawBody: raw });
          }),
      );
    }
    // Not an object, not JSON, or not declared as JSON.
    mistakes.push(
      fc.tuple(valid, auth, fc.constantFrom(...malformedBodies)).map(([parts, a, raw]) =>
        build("body:malformed", parts, a, {
          rawBody: raw,
          // A parser may skip a leading byte order mark (RFC 8259, 8.1); fetch's decoder does.
          mustRefuse: mustRefuseBody && !raw.startsWith("\ufeff"),
        }),
      ),
      fc
        .tuple(valid, auth, fc.constantFrom<string | null>(null, ...wrongContentTypes))
        .map(([parts, a, type]) =>
          build(`content-type:${type ?? "missing"}`, parts, a, {
            contentType: type,
            rawBody: toJsonText(parts.body ?? {}),
            // A JSON type in other letters or with parameters is still JSON.
            mustRefuse: mustRefuseBody && !/json/i.test(type ?? ""),
          }),
        ),
      fc.tuple(valid, auth, fc.integer({ min: 70_000, max: 300_000 })).map(([parts, a, size]) =>
        build("body:huge", parts, a, {
          rawBody: toJsonText({ ...asObject(parts.body), padding: "x".repeat(size) }),
          mustRefuse: true,
        }),
      ),
    );
  }

  return fc.oneof(
    { arbitrary: validRequest, weight: mistakes.length },
    ...mistakes.map((arbitrary) => ({ arbitrary, weight: 2 })),
  );
}

const authHeaderNames = [
  "x-studio-api-key",
  "x-client-id",
  "origin",
  "cookie",
  "x-csrf-token",
  "x-request-id",
];

const nastyHeaderValues: readonly string[] = [
  "",
  " ",
  "null",
  "\u00ff\u00e9",
  "x".repeat(8000),
  "0".repeat(32),
  "stablegate_session=; stablegate_session=x",
  "http://[::1]:80",
  "https://shop.example/../x",
  "%00",
  "1e400",
  "-0",
  "a,b",
];

const malformedBodies: readonly string[] = [
  "",
  "{",
  "}",
  "[",
  "null",
  "[]",
  "[{}]",
  "1",
  "-0",
  "1e400",
  '"text"',
  "true",
  "{'a':1}",
  '{"a":1,}',
  '{"a":}',
  "\ufeff{}",
  '{"a":"\\ud800"}',
  '{"a":"\\u0000"}',
  '{"a":"\\x00"}',
  "{}{}",
  "NaN",
  `${"[".repeat(5000)}${"]".repeat(5000)}`,
  `{"a":${"[".repeat(100)}${"]".repeat(100)}}`,
];

const wrongContentTypes: readonly string[] = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/xml",
  "application/json-patch+json",
  "APPLICATION/JSON",
  "application/json; charset=latin1",
  "application/jsonx",
  "",
];

function deep(): fc.Arbitrary<unknown> {
  return fc.integer({ min: 60, max: 200 }).map((levels) => {
    let v: unknown = "bottom";
    for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { v };
    return v;
  });
}

function asObject(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

export function describeAuth(a: AuthChoice): string {
  if (a.kind === "none") return "none";
  if (a.kind === "session") return `session=${a.who},csrf=${a.csrf}`;
  return Object.entries(a)
    .filter(([k]) => k !== "kind")
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}
