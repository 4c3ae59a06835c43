// Builds a publishable package (packages/sdk, packages/react) from its TypeScript sources into
// dist/: ESM in dist/esm, CommonJS in dist/cjs (marked by a package.json {"type":"commonjs"}),
// each with its .d.ts. Run as the package's `build` script (and so by `npm pack`'s prepack), in
// the package's folder:
//
//   node ../../scripts/build-library.mjs
//
// Two runs of the TypeScript compiler already in the tree, no bundler (docs/decisions.md,
// "sdk: built with tsc, ESM and CommonJS"). Inside the repository nothing needs this: the
// workspace resolves the packages' "@stablegate/source" export condition to src/.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const dir = process.cwd();
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

function compile(project) {
  execFileSync(process.execPath, [tsc, "-p", join(dir, project)], { cwd: dir, stdio: "inherit" });
}

rmSync(join(dir, "dist"), { recursive: true, force: true });
// ESM with declarations, type-checked; then the same sources as CommonJS JavaScript only
// (tsconfig.build.cjs.json: noCheck, the first run checked them).
compile("tsconfig.build.json");
compile("tsconfig.build.cjs.json");
// Node and TypeScript read the nearest package.json for a .js/.d.ts file's module format.
writeFileSync(join(dir, "dist/cjs/package.json"), `${JSON.stringify({ type: "commonjs" })}\n`);

// Hand-written or generated declaration files (src/openapi.d.ts) are inputs tsc never emits;
// stylesheets (src/styles.css) are the same for both formats.
for (const name of readdirSync(join(dir, "src"))) {
  if (name.endsWith(".d.ts")) copyFileSync(join(dir, "src", name), join(dir, "dist/esm", name));
  if (name.endsWith(".css")) copyFileSync(join(dir, "src", name), join(dir, "dist", name));
}

// tsc rewrites "./client.ts" to "./client.js" in the JavaScript but not in the declarations it
// emits: a consumer's TypeScript would then look for the .ts sources, which are not published.
// "./x.js" is what resolves to the x.d.ts beside it. The declarations are the same for both
// formats; dist/cjs gets its own copy so that TypeScript reads them as CommonJS for `require`.
const TS_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*)(["'])(\.{1,2}\/[^"']*?)(?:\.d)?\.tsx?\2/g;
for (const name of readdirSync(join(dir, "dist/esm"), { recursive: true })) {
  if (!String(name).endsWith(".d.ts")) continue;
  const text = readFileSync(join(dir, "dist/esm", String(name)), "utf8").replace(
    TS_SPECIFIER,
    "$1$2$3.js$2",
  );
  for (const out of ["dist/esm", "dist/cjs"]) {
    mkdirSync(dirname(join(dir, out, String(name))), { recursive: true });
    writeFileSync(join(dir, out, String(name)), text);
  }
}
console.log(`built ${join(dir, "dist")} (esm, cjs, .d.ts)`);
