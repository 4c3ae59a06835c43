import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import type { AddCleanup } from "../bench/run-with-cleanups.ts";
import {
  CLI_PATH,
  cliEnv,
  freePort,
  REPO_ROOT,
} from "../packages/gateway/src/testing/cli-process.ts";

export type Role = "all" | "worker";

export interface GatewayProcess {
  name: string;
  role: Role;
  port: number;
  url: string;
  /** False from a kill until the restarted process answers /healthz. */
  up: boolean;
  starts: number;
  child?: ChildProcess;
}

export interface Cluster {
  nodes: GatewayProcess[];
  /** Processes that serve the API and are up now. */
  apiNodes(): GatewayProcess[];
  /** kill -9 of one process, then its restart; resolves once it answers /healthz again. */
  killAndRestart(node: GatewayProcess): Promise<void>;
  /** Exits nobody asked for (a crash, a crash loop after a restart), as readable lines. */
  unexpectedExits: string[];
  kills: Array<{ at: number; name: string; downMs: number }>;
  logDir: string;
}

/** Three `stablegate serve` processes on one database, each with its own port and log file. */
export async function startCluster(
  settings: Record<string, string>,
  roles: Role[],
  logDir: string,
  addCleanup: AddCleanup,
): Promise<Cluster> {
  const nodes: GatewayProcess[] = [];
  const unexpectedExits: string[] = [];
  const kills: Cluster["kills"] = [];
  let stopping = false;

  const spawnNode = (node: GatewayProcess) => {
    node.starts += 1;
    const out = openSync(join(logDir, `${node.name}.log`), "a");
    const child = spawn(process.execPath, [CLI_PATH, "serve", "--role", node.role], {
      cwd: REPO_ROOT,
      env: cliEnv({
        ...settings,
        PORT: String(node.port),
        DATA_DIR: join(logDir, `${node.name}-data`),
      }),
      stdio: ["ignore", out, out],
    });
    closeSync(out);
    node.child = child;
    child.once("exit", (code, signal) => {
      if (node.child === child) node.up = false;
      if (!stopping && signal !== "SIGKILL") {
        unexpectedExits.push(
          `${node.name} (start ${node.starts}) exited by itself: code ${code}, signal ${signal}`,
        );
      }
    });
  };

  const waitHealthy = async (node: GatewayProcess, timeoutMs: number) => {
    const until = Date.now() + timeoutMs;
    const child = node.child;
    while (Date.now() < until) {
      if (child?.exitCode !== null || child?.signalCode !== null) {
        throw new Error(`${node.name} exited while starting: see ${logDir}/${node.name}.log`);
      }
      try {
        const res = await fetch(`${node.url}/healthz`, { signal: AbortSignal.timeout(2_000) });
        if (res.status === 200) {
          node.up = true;
          return;
        }
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${node.name} did not answer /healthz within ${timeoutMs} ms`);
  };

  for (const [i, role] of roles.entries()) {
    const port = await freePort();
    nodes.push({
      name: `gw${i + 1}-${role}`,
      role,
      port,
      url: `http://127.0.0.1:${port}`,
      up: false,
      starts: 0,
    });
  }
  addCleanup("stop gateways", async () => {
    stopping = true;
    await Promise.all(
      nodes.map(async (n) => {
        const child = n.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  });
  // All at once on an empty database: the migrations must still run once.
  for (const n of nodes) spawnNode(n);
  await Promise.all(nodes.map((n) => waitHealthy(n, 120_000)));

  return {
    nodes,
    apiNodes: () => nodes.filter((n) => n.role === "all" && n.up),
    unexpectedExits,
    kills,
    logDir,
    async killAndRestart(node) {
      const child = node.child;
      node.up = false;
      const at = Date.now();
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGKILL");
        await exited;
      }
      spawnNode(node);
      await waitHealthy(node, 120_000);
      kills.push({ at, name: node.name, downMs: Date.now() - at });
    },
  };
}
