import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// @stablegate/sdk and @stablegate/react as a user installs them: `npm pack` (its prepack builds
// dist/), the tarballs unpacked into a scratch project's node_modules, their dependencies linked
// from this repository's node_modules (offline), then plain `node` (ESM import and CommonJS
// require) and the TypeScript compiler (nodenext, both module kinds) in that project. Inside the
// repository everything else uses the sources; this is the one test of what is published.

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const repoRequire = createRequire(join(REPO, "package.json"));
const TSC = repoRequire.resolve("typescript/bin/tsc");
const PACKAGES = { sdk: join(REPO, "packages/sdk"), react: join(REPO, "packages/react") };

let project: string;
const tarballFiles: Record<keyof typeof PACKAGES, string[]> = { sdk: [], react: [] };

/** Runs `node <file>` (or tsc) in the scratch project and returns its stdout. */
async function node(args: string[]): Promise<string> {
  try {
    // Bounds that only catch a hang: tsc on @types/react takes minutes on a loaded 2-core CI.
    const { stdout } = await run(process.execPath, args, { cwd: project, timeout: 540_000 });
    return stdout;
  } catch (err) {
    // tsc reports on stdout: the failure says what did not compile or run.
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`node ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}`, {
      cause: err,
    });
  }
}

async function packAndUnpack(name: keyof typeof PACKAGES): Promise<void> {
  const out = join(project, "tarballs", name);
  await mkdir(out, { recursive: true });
  // --ignore-scripts=false: the prepack script is what builds dist/.
  await run("npm", ["pack", "--pack-destination", out, "--ignore-scripts=false"], {
    cwd: PACKAGES[name],
    timeout: 480_000,
  }).catch((err: { stdout?: string; stderr?: string }) => {
    // The build's compiler errors are on stdout.
    throw new Error(`npm pack of ${name} failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`, {
      cause: err,
    });
  });
  const { stdout } = await run("sh", ["-c", `ls ${out}/*.tgz`]);
  const tarball = stdout.trim();
  tarballFiles[name] = (await run("tar", ["-tzf", tarball])).stdout
    .split("\n")
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ""));
  const target = join(project, "node_modules/@stablegate", name);
  await mkdir(target, { recursive: true });
  await run("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"]);
}

/** Links a dependency from this repository's node_modules, as `npm install` would place it. */
async function link(name: string): Promise<void> {
  const source = dirname(repoRequire.resolve(`${name}/package.json`));
  await mkdir(dirname(join(project, "node_modules", name)), { recursive: true });
  await symlink(source, join(project, "node_modules", name), "dir");
}

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), "sg-packed-"));
  await writeFile(join(project, "package.json"), '{ "name": "merchant", "private": true }\n');
  await Promise.all([packAndUnpack("sdk"), packAndUnpack("react")]);
  // The packages' dependencies and peers, and the types a TypeScript user installs.
  const deps = new Set<string>();
  for (const name of ["sdk", "react"] as const) {
    const manifest = JSON.parse(
      await readFile(join(project, "node_modules/@stablegate", name, "package.json"), "utf8"),
    ) as { dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
    for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) {
      if (!dep.startsWith("@stablegate/")) deps.add(dep);
    }
  }
  for (const dep of [...deps, "@types/react"]) await link(dep);
}, 600_000);

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

// A signed callback and a call through the client to a local server, from a user's script.
const SDK_CHECKS = `
const secret = "whsec_test";
const body = JSON.stringify({ payment_intent_id: "pi_1", status: "success" });
const t = Math.floor(Date.now() / 1000);
const v1 = createHmac("sha256", secret).update(t + "." + body).digest("hex");
const payload = sdk.verifyWebhook(body, "t=" + t + ",v1=" + v1, secret);
let tampered;
try {
  sdk.verifyWebhook(body.replace("success", "expired"), "t=" + t + ",v1=" + v1, secret);
} catch (err) {
  tampered = err instanceof sdk.WebhookVerificationError ? err.reason : String(err);
}
const server = createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify(req.headers["x-studio-api-key"] === "key_1"
    ? { code: 4006, message: "payment intent not found" }
    : { code: 4002, message: "invalid API key" }));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const client = sdk.createStablegateClient({
  baseUrl: "http://127.0.0.1:" + server.address().port,
  apiKey: "key_1",
});
let apiError;
try {
  sdk.unwrap(await client.GET("/v1/studio/api/payment/intent/{id}", { params: { path: { id: "pi_x" } } }));
} catch (err) {
  apiError = err instanceof sdk.StablegateApiError ? err.code : String(err);
}
server.close();
console.log(JSON.stringify({ status: payload.status, tampered, apiError }));
`;

const SDK_EXPECTED = { status: "success", tampered: "signature_mismatch", apiError: 4006 };

describe("@stablegate/sdk from its tarball", () => {
  it("holds dist/ only (and package.json, README)", () => {
    expect(tarballFiles.sdk).toContain("dist/esm/index.js");
    expect(tarballFiles.sdk).toContain("dist/cjs/index.js");
    expect(tarballFiles.sdk).toContain("dist/esm/index.d.ts");
    expect(tarballFiles.sdk).toContain("dist/cjs/index.d.ts");
    expect(tarballFiles.sdk).toContain("dist/esm/openapi.d.ts");
    expect(tarballFiles.sdk.filter((f) => !f.startsWith("dist/")).sort()).toEqual([
      "README.md",
      "package.json",
    ]);
  });

  it("imports in plain Node (ESM): verifyWebhook checks a signed callback, the client calls", async () => {
    await writeFile(
      join(project, "sdk-esm.mjs"),
      `import { createHmac } from "node:crypto";\nimport { createServer } from "node:http";\nimport * as sdk from "@stablegate/sdk";\n${SDK_CHECKS}`,
    );
    expect(JSON.parse(await node(["sdk-esm.mjs"]))).toEqual(SDK_EXPECTED);
    expect(
      await node([
        "-e",
        "import('@stablegate/sdk').then((m) => console.log(typeof m.verifyWebhook))",
      ]),
    ).toBe("function\n");
  });

  it("requires in plain Node (CommonJS)", async () => {
    await writeFile(
      join(project, "sdk-cjs.cjs"),
      `const { createHmac } = require("node:crypto");\nconst { createServer } = require("node:http");\nconst sdk = require("@stablegate/sdk");\n(async () => {\n${SDK_CHECKS}\n})();`,
    );
    expect(JSON.parse(await node(["sdk-cjs.cjs"]))).toEqual(SDK_EXPECTED);
  });
});

describe("@stablegate/react from its tarball", () => {
  it("holds dist/ only (and package.json, README)", () => {
    expect(tarballFiles.react).toContain("dist/esm/index.js");
    expect(tarballFiles.react).toContain("dist/cjs/index.js");
    expect(tarballFiles.react).toContain("dist/cjs/index.d.ts");
    expect(tarballFiles.react).toContain("dist/styles.css");
    expect(tarballFiles.react.filter((f) => !f.startsWith("dist/")).sort()).toEqual([
      "README.md",
      "package.json",
    ]);
  });

  const render = (load: string) => `
${load}
const { KryptogoKitProvider, PaymentProvider, PaymentError, usePayment } = sdk;
function PayNow() {
  const { openPaymentModal } = usePayment();
  return createElement("button", { onClick: () => openPaymentModal({ fiat_amount: "100", fiat_currency: "TWD" }) }, "Pay Now");
}
const html = renderToString(createElement(KryptogoKitProvider, { clientId: "9c5a79fc1117310f976b53752659b61d", baseUrl: "https://pay.example" }, createElement(PayNow)));
console.log(JSON.stringify({ html, provider: typeof PaymentProvider, error: new PaymentError("validation", "x").kind }));
`;
  const REACT_EXPECTED = {
    html: "<button>Pay Now</button>",
    provider: "function",
    error: "validation",
  };

  it("imports in plain Node (ESM) and renders KryptogoKitProvider with usePayment", async () => {
    await writeFile(
      join(project, "react-esm.mjs"),
      render(
        `import { createElement } from "react";\nimport { renderToString } from "react-dom/server";\nimport * as sdk from "@stablegate/react";`,
      ),
    );
    expect(JSON.parse(await node(["react-esm.mjs"]))).toEqual(REACT_EXPECTED);
    // What KryptoGO's setup imports, with the package name changed.
    expect(
      await node([
        "-e",
        "console.log(import.meta.resolve('@stablegate/react/styles.css'))",
        "--input-type=module",
      ]),
    ).toMatch(/node_modules\/@stablegate\/react\/dist\/styles\.css\n$/);
  });

  it("requires in plain Node (CommonJS)", async () => {
    await writeFile(
      join(project, "react-cjs.cjs"),
      render(
        `const { createElement } = require("react");\nconst { renderToString } = require("react-dom/server");\nconst sdk = require("@stablegate/react");`,
      ),
    );
    expect(JSON.parse(await node(["react-cjs.cjs"]))).toEqual(REACT_EXPECTED);
  });
});

describe("both tarballs in a TypeScript project (moduleResolution nodenext)", () => {
  it("type-check from ESM and CommonJS files; a wrong call is refused", async () => {
    const sdkUse = `
const client = createStablegateClient({ baseUrl: "https://pay.example", apiKey: "key" });
export async function status(id: string): Promise<PaymentStatus> {
  const intent: PaymentIntent = unwrap(
    await client.GET("/v1/studio/api/payment/intent/{id}", { params: { path: { id } } }),
  );
  return intent.status;
}
export const fromWebhook = (body: string, header: string): CallbackPayload =>
  verifyWebhook(body, header, "secret");
// A merchant's mistake the types must catch (were they \`any\`, this directive would be unused: TS2578).
// @ts-expect-error fiat_amount is a decimal string
void client.POST("/v1/studio/api/payment/intent", { body: { fiat_amount: 100, fiat_currency: "TWD" } });
`;
    const reactUse = `
export function App(): ReactElement {
  return createElement(
    KryptogoKitProvider,
    { clientId: "9c5a79fc1117310f976b53752659b61d", baseUrl: "https://pay.example", locale: "zh-TW" },
  );
}
export function useOpen(params: OpenPaymentModalParams): Promise<void> {
  return usePayment().openPaymentModal(params);
}
`;
    const sdkImport =
      'import { type CallbackPayload, createStablegateClient, type PaymentIntent, type PaymentStatus, unwrap, verifyWebhook } from "@stablegate/sdk";';
    const reactImport =
      'import { createElement, type ReactElement } from "react";\nimport { KryptogoKitProvider, type OpenPaymentModalParams, usePayment } from "@stablegate/react";';
    await writeFile(join(project, "use.mts"), `${sdkImport}\n${reactImport}\n${sdkUse}${reactUse}`);
    await writeFile(join(project, "use.cts"), `${sdkImport}\n${reactImport}\n${sdkUse}${reactUse}`);
    const options = {
      module: "nodenext",
      moduleResolution: "nodenext",
      target: "es2022",
      lib: ["es2023", "dom"],
      strict: true,
      noEmit: true,
      types: [],
    };
    await writeFile(
      join(project, "tsconfig.json"),
      JSON.stringify({ compilerOptions: options, files: ["use.mts", "use.cts"] }),
    );
    expect(await node([TSC, "-p", "tsconfig.json"])).toBe("");
  }, 600_000);
});
