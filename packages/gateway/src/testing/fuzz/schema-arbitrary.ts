import fc from "fast-check";

// Values for an OpenAPI 3.1 schema (JSON Schema, as @hono/zod-openapi writes it): ones the
// document says are accepted, and ones it says are not. Only the keywords the gateway's document
// uses are read; an unknown shape falls back to any JSON value.

// A JSON Schema is any JSON object.
export type JsonSchema = Record<string, any>;

/** JSON text placed as is in a body: numbers JSON.stringify cannot write (1e400, -0). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Like JSON.stringify, keeping RawJson's text. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const parts = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`);
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export function createResolver(doc: JsonSchema) {
  return function resolve(schema: JsonSchema | undefined): JsonSchema {
    let s = schema ?? {};
    for (let hops = 0; typeof s.$ref === "string" && hops < 20; hops++) {
      const path = (s.$ref as string).replace(/^#\//, "").split("/");
      s = path.reduce((node, key) => node?.[key], doc) ?? {};
    }
    if (Array.isArray(s.allOf)) {
      // The document's allOf are objects extending objects: one object with every property.
      const parts = s.allOf.map((p: JsonSchema) => resolve(p));
      const { allOf: _, ...rest } = s;
      return {
        ...rest,
        type: "object",
        properties: Object.assign({}, ...parts.map((p: JsonSchema) => p.properties ?? {})),
        required: parts.flatMap((p: JsonSchema) => p.required ?? []),
      };
    }
    return s;
  };
}

export type Resolve = ReturnType<typeof createResolver>;

const json = fc.jsonValue({ maxDepth: 2 });

/** Strings that break parsers, databases and naive code: each one a classic. */
export const nastyStrings: readonly string[] = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "x\udc00y",
  "😀",
  "\u202eevil",
  "ｆｕｌｌ",
  "1e400",
  "-0",
  "NaN",
  "Infinity",
  "0x10",
  " 2",
  "1,000",
  "9".repeat(400),
  "' OR 1=1 --",
  "%00",
  "%",
  "_",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  "null",
  "true",
  "{}",
  "x".repeat(3000),
  "\\",
  "\n\r\t",
];

/** Numbers at the edges: JSON text for the ones JSON.stringify would change. */
export const nastyNumbers: readonly unknown[] = [
  0,
  -1,
  new RawJson("-0"),
  new RawJson("-0.0"),
  0.5,
  1e308,
  -1e308,
  new RawJson("1e400"),
  new RawJson("-1e400"),
  new RawJson("1E+2"),
  new RawJson("1e-400"),
  2 ** 53 + 2,
  new RawJson("123456789012345678901234567890"),
  Number.MIN_VALUE,
  4294967296,
  2147483648,
];

const wrongTypes: readonly unknown[] = [null, true, false, [], {}, [1, "a"], { a: { b: 1 } }];

/** Any value the document would refuse, or that tests an edge of what it accepts. */
export function invalidValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...nastyStrings),
    fc.constantFrom(...nastyNumbers),
    fc.constantFrom(...wrongTypes),
    fc.string({ unit: "binary", maxLength: 20 }),
    fc.integer(),
    fc.double(),
  );
}

function withExample(schema: JsonSchema, arb: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  if (schema.example === undefined) return arb;
  return fc.oneof(
    { arbitrary: fc.constant(schema.example), weight: 2 },
    { arbitrary: arb, weight: 1 },
  );
}

/** Values the document says the schema accepts (the gateway may still refuse some). */
export function validValue(
  input: JsonSchema | undefined,
  resolve: Resolve,
  depth = 0,
): fc.Arbitrary<unknown> {
  const schema = resolve(input);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(alternatives)) {
    return fc.oneof(...alternatives.map((s: JsonSchema) => validValue(s, resolve, depth + 1)));
  }
  if (Array.isArray(schema.type)) {
    const types = schema.type as string[];
    const nonNull = types.filter((t) => t !== "null");
    const arbs = nonNull.map((type) => validValue({ ...schema, type }, resolve, depth));
    if (types.includes("null")) return fc.oneof(...arbs, fc.constant(null));
    return fc.oneof(...arbs);
  }
  switch (schema.type) {
    case "string":
      return withExample(schema, stringValue(schema));
    case "integer":
      return withExample(
        schema,
        fc.integer({ min: schema.minimum ?? -1_000_000, max: schema.maximum ?? 1_000_000 }),
      );
    case "number":
      return withExample(
        schema,
        fc.double({
          min: schema.minimum ?? -1e9,
          max: schema.maximum ?? 1e9,
          noNaN: true,
          noDefaultInfinity: true,
        }),
      );
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array":
      return withExample(
        schema,
        fc.array(validValue(schema.items, resolve, depth + 1), {
          minLength: schema.minItems ?? 0,
          maxLength: Math.min(schema.maxItems ?? 3, 3),
        }),
      );
    case "object":
      return withExample(schema, objectValue(schema, resolve, depth));
    default:
      return schema.example !== undefined ? fc.constant(schema.example) : json;
  }
}

function stringValue(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 40, 80);
  if (schema.format === "email") return fc.emailAddress().filter((s) => s.length <= maxLength);
  if (typeof schema.pattern === "string") {
    const re = new RegExp(schema.pattern);
    return fc
      .stringMatching(re)
      .filter((s) => s.length >= minLength && s.length <= (schema.maxLength ?? 10_000));
  }
  return fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
}

function objectValue(schema: JsonSchema, resolve: Resolve, depth: number): fc.Arbitrary<unknown> {
  const properties: Record<string, JsonSchema> = schema.properties ?? {};
  const names = Object.keys(properties);
  if (names.length === 0) {
    return schema.additionalProperties === false || depth > 2
      ? fc.constant({})
      : fc.dictionary(fc.string({ maxLength: 10 }), json, { maxKeys: 3 });
  }
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const name of names) model[name] = validValue(properties[name], resolve, depth + 1);
  return fc.record(model, { requiredKeys: (schema.required ?? []) as string[] });
}

/** The property names of an object schema (after $ref and allOf), with which are required. */
export function objectFields(schema: JsonSchema | undefined, resolve: Resolve) {
  const s = resolve(schema);
  return {
    names: Object.keys(s.properties ?? {}),
    required: (s.required ?? []) as string[],
  };
}
