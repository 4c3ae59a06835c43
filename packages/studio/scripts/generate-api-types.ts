// `npm run generate -w packages/studio`: Studio's types for the admin API (src/api/schema.d.ts),
// generated the way the SDK generates its own (one generator: packages/sdk/src/codegen), from a
// real gateway's /openapi.json. Run it after merging routes; `npm run typecheck -w
// @stablegate/studio` then shows every page a changed route breaks.
import { writeFile } from "node:fs/promises";
import { fetchOpenApiDocument, generateOpenApiTypes } from "../../sdk/src/codegen/generate.ts";

const target = new URL("../src/api/schema.d.ts", import.meta.url);
await writeFile(
  target,
  await generateOpenApiTypes(await fetchOpenApiDocument(), "packages/studio"),
);
console.log(`wrote ${target.pathname}`);
