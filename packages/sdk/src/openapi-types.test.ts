import { readFile } from "node:fs/promises";
import { expect, it } from "vitest";
import {
  fetchOpenApiDocument,
  generateOpenApiTypes,
  OPENAPI_TYPES_URL,
  withoutAdminRoutes,
} from "./codegen/generate.ts";

it("src/openapi.d.ts is what the current gateway generates (else: npm run generate -w packages/sdk)", async () => {
  const expected = await generateOpenApiTypes(withoutAdminRoutes(await fetchOpenApiDocument()));
  const committed = await readFile(OPENAPI_TYPES_URL, "utf8");
  // toBe on the whole text would print 400 lines; the first differing line says what moved.
  const a = committed.split("\n");
  const b = expected.split("\n");
  const line = a.findIndex((l, i) => l !== b[i]);
  expect(
    line === -1 && a.length === b.length
      ? "up to date"
      : `differs at line ${line + 1}: ${JSON.stringify(a[line])} vs generated ${JSON.stringify(b[line])}`,
  ).toBe("up to date");
});
