import { readFile } from "node:fs/promises";
import { beforeAll, expect, it } from "vitest";
import {
  fetchOpenApiDocument,
  generateOpenApiTypes,
  OPENAPI_TYPES_URL,
  withoutAdminRoutes,
} from "./codegen/generate.ts";

// The gateway's OpenAPI document, once for both generated files.
let document: Awaited<ReturnType<typeof fetchOpenApiDocument>>;
beforeAll(async () => {
  document = await fetchOpenApiDocument();
});

/** "up to date", or the first line that differs: toBe on the whole text would print 400 lines. */
async function compare(committedUrl: URL, expected: string): Promise<string> {
  const a = (await readFile(committedUrl, "utf8")).split("\n");
  const b = expected.split("\n");
  const line = a.findIndex((l, i) => l !== b[i]);
  return line === -1 && a.length === b.length
    ? "up to date"
    : `differs at line ${line + 1}: ${JSON.stringify(a[line])} vs generated ${JSON.stringify(b[line])}`;
}

it("src/openapi.d.ts is what the current gateway generates (else: npm run generate -w packages/sdk)", async () => {
  const expected = await generateOpenApiTypes(withoutAdminRoutes(document));
  expect(await compare(OPENAPI_TYPES_URL, expected)).toBe("up to date");
});

it("Studio's src/api/schema.d.ts is what the current gateway generates (else: npm run generate -w @stablegate/studio)", async () => {
  const expected = await generateOpenApiTypes(document, "packages/studio");
  const studioTypes = new URL("../../studio/src/api/schema.d.ts", import.meta.url);
  expect(await compare(studioTypes, expected)).toBe("up to date");
});
