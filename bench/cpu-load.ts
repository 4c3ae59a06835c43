/**
 * Load from autocannon's CLI in a child process, and this process's CPU per request while it
 * runs (every thread of the process counts: the gateway's derivation thread too). The load's own
 * CPU is not counted, so a busy neighbour moves both sides of a comparison alike: on this shared
 * 2-core machine CPU per request moves by about a tenth between runs, req/s by a third.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import type { Hono } from "hono";

const AUTOCANNON = createRequire(import.meta.url).resolve("autocannon/autocannon.js");

export interface Load {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
}

export interface Measured {
  rps: number;
  cpuUsPerRequest: number;
  p50: number;
  p99: number;
}

/** autocannon's CLI for `seconds` (at `rate` requests/s in all, else as fast as it can); its JSON result. */
export function loadFrom(
  load: Load,
  options: { seconds: number; connections: number; rate?: number },
): Promise<any> {
  const args = [AUTOCANNON, "-c", String(options.connections), "-d", String(options.seconds), "-j"];
  if (options.rate !== undefined) args.push("-R", String(Math.max(1, Math.round(options.rate))));
  if (load.method !== undefined) args.push("-m", load.method);
  if (load.body !== undefined) args.push("-b", load.body);
  for (const [name, value] of Object.entries(load.headers ?? {}))
    args.push("-H", `${name}=${value}`);
  args.push(load.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`));
      resolve(JSON.parse(out));
    });
  });
}

/** Loads `load` and measures this process's CPU meanwhile; throws on any answer that is not 2xx. */
export async function measure(
  load: Load,
  options: { seconds: number; connections: number; rate?: number },
): Promise<Measured> {
  const before = process.cpuUsage();
  const r = await loadFrom(load, options);
  const cpu = process.cpuUsage(before);
  if (r.non2xx > 0 || r.errors > 0) {
    throw new Error(`${load.url}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
  }
  return {
    rps: r.requests.average,
    cpuUsPerRequest: (cpu.user + cpu.system) / r.requests.total,
    p50: r.latency.p50,
    p99: r.latency.p99,
  };
}

/** Serves a bare Hono app on an ephemeral loopback port; its base URL and server. */
export function listen(app: Hono): Promise<{ server: ServerType; url: string }> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    );
    server.once("error", reject);
  });
}

export const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
