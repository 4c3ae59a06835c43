import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import {
  fetchOpenApiDocument,
  generateOpenApiTypes,
  OPENAPI_TYPES_URL,
  withoutAdminRoutes,
} from "./generate.ts";

// `npm run generate -w packages/sdk`: run after changing the gateway's routes; the
// openapi-types test fails until the committed file matches again.
const text = await generateOpenApiTypes(withoutAdminRoutes(await fetchOpenApiDocument()));
await writeFile(OPENAPI_TYPES_URL, text);
console.log(`wrote ${fileURLToPath(OPENAPI_TYPES_URL)}`);
