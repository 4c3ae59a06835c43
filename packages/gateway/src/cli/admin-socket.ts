import { chmodSync, rmSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { Command, CommanderError } from "commander";
import type { Logger } from "pino";
import { ConfigError } from "../platform/config.ts";
import { DomainError } from "../platform/errors.ts";
import { type AdminAction, addAdminCommands, type Services } from "./admin-commands.ts";

/**
 * PGlite admits one process, so while a gateway holds DATA_DIR the CLI's admin commands cannot
 * open the database. The gateway listens on DATA_DIR/admin.sock (a Unix socket, mode 0600: the
 * same user who may read the database files) and runs the commands the CLI forwards there with
 * its own services. On PostgreSQL the CLI opens the database itself and no socket is made.
 */
export const ADMIN_SOCKET = "admin.sock";

// sockaddr_un holds 104 bytes on macOS and 108 on Linux, the final NUL included.
const MAX_SOCKET_PATH_BYTES = 103;

interface Answer {
  ok: boolean;
  value?: unknown;
  error?: string;
}

export class AdminSocketError extends Error {
  override name = "AdminSocketError";
}

export function adminSocketPath(dataDir: string): string {
  return path.join(dataDir, ADMIN_SOCKET);
}

/** Serves the admin socket for a gateway on PGlite; resolves to its close(). */
export async function serveAdminSocket(options: {
  dataDir: string;
  services: Services;
  log: Logger;
}): Promise<() => Promise<void>> {
  const socketPath = adminSocketPath(options.dataDir);
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    options.log.warn(
      { socketPath },
      "DATA_DIR is too long a path for the admin socket: admin commands need the gateway stopped",
    );
    return async () => {};
  }
  // A socket file left by a gateway killed with -9; this process holds DATA_DIR's lock now.
  rmSync(socketPath, { force: true });
  const server = http.createServer((req, res) => {
    void answer(req, options.services, options.log).then((a) => {
      res.writeHead(a.ok ? 200 : 400, { "content-type": "application/json" });
      res.end(JSON.stringify(a));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  options.log.info({ socketPath }, "admin socket listening");
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
}

async function answer(req: http.IncomingMessage, services: Services, log: Logger) {
  let argv: unknown;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    argv = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { argv?: unknown }).argv;
  } catch {
    return { ok: false, error: "admin socket: the request is not JSON" } satisfies Answer;
  }
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === "string")) {
    return { ok: false, error: "admin socket: argv must be an array of strings" } satisfies Answer;
  }
  return runAdminCommand(argv, services, log);
}

/** Parses argv with the CLI's own admin commands and runs the one it names on `services`. */
export async function runAdminCommand(
  argv: string[],
  services: Services,
  log: Logger,
): Promise<Answer> {
  let value: unknown;
  let ran = false;
  let usage = "";
  const program = new Command("stablegate")
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: (s) => (usage += s) });
  addAdminCommands(program, async (action: AdminAction) => {
    value = await action(services);
    ran = true;
  });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return { ok: false, error: usage.trim() || err.message };
    if (err instanceof DomainError || err instanceof ConfigError) {
      return { ok: false, error: `stablegate: ${err.message}` };
    }
    log.error({ err, argv }, "admin command failed");
    return { ok: false, error: `stablegate: ${(err as Error).message}` };
  }
  if (!ran) return { ok: false, error: `stablegate: ${argv.join(" ")} is not an admin command` };
  // Through JSON as the CLI would print it, so dates and the like come out alike.
  return { ok: true, value: JSON.parse(JSON.stringify(value ?? null)) };
}

/** The CLI's end: sends argv to the running gateway and returns what its command returned. */
export function sendAdminCommand(dataDir: string, argv: string[]): Promise<unknown> {
  const socketPath = adminSocketPath(dataDir);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, path: "/", method: "POST", headers: { "content-type": "application/json" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          try {
            const a = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Answer;
            if (a.ok) resolve(a.value);
            else reject(new AdminSocketError(a.error ?? "admin socket: no answer"));
          } catch {
            reject(new AdminSocketError(`admin socket ${socketPath}: unreadable answer`));
          }
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ argv }));
  });
}
