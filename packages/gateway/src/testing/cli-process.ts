import { type ChildProcess, spawn } from "node:child_process";
import { connect, createServer } from "node:net";
import { fileURLToPath } from "node:url";

/** The repository root: the CLI is run from here, as `npm start` does. */
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
export const CLI_PATH = fileURLToPath(new URL("../../bin/stablegate.js", import.meta.url));

// Settings the test runner's own environment may carry (a developer's PORT, the suite's
// DATABASE_URL): a child sees only what its test passes, so results do not depend on the shell.
const CONFIG_ENV =
  /^(PORT|HOST|DATA_DIR|DATABASE_URL|PAYMENT_TTL_SECONDS|LOG_LEVEL|LOG_PRETTY|CRYPTO_AMOUNT_DECIMALS|MAX_BODY_BYTES|SEED_PHRASE|SEED_FILE|RATES_\w+|DEFAULT_CHAIN|ANVIL_PORT|RPC_URLS_\w+|CONFIG_FILE|ROLE|LEASE_\w+)$/;

export function cliEnv(settings: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!CONFIG_ENV.test(k)) env[k] = v;
  for (const [k, v] of Object.entries(settings)) if (v !== undefined) env[k] = v;
  return env;
}

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A long-running `stablegate` process (serve, dev) with its output collected. */
export interface CliProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves once the process has exited. */
  exited: Promise<CliExit>;
  /** Waits until stdout matches; rejects with stderr when the process exits or time runs out. */
  waitForStdout(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Sends a signal to the process alone, or with `group` to it and its children (Ctrl-C). */
  signal(signal: NodeJS.Signals, options?: { group?: boolean }): void;
  /** Last resort in afterAll: SIGKILL the process group so no anvil outlives the test. */
  kill(): Promise<void>;
}

export function startCli(
  args: string[],
  settings: Record<string, string | undefined>,
  /** Another copy of the CLI and where to run it (an image's install, replayed elsewhere). */
  options: { cwd?: string; cli?: string } = {},
) {
  // Its own process group: `signal(..., { group: true })` reaches anvil too, like a terminal's
  // Ctrl-C, and kill() can clean up children that the CLI failed to stop.
  const child = spawn(process.execPath, [options.cli ?? CLI_PATH, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: cliEnv(settings),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
    notify();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  let done: CliExit | undefined;
  const exited = new Promise<CliExit>((resolve) => {
    child.once("close", (code, signal) => {
      done = { code, signal, stdout, stderr };
      resolve(done);
      notify();
    });
    child.once("error", (err) => {
      stderr += `\nspawn error: ${err.message}`;
    });
  });

  const proc: CliProcess = {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    waitForStdout(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = stdout.match(pattern);
          if (match) return finish(() => resolve(match));
          if (done) {
            finish(() =>
              reject(
                new Error(
                  `stablegate ${args.join(" ")} exited (code ${done?.code}, signal ${done?.signal}) before printing ${pattern}\nstderr:\n${stderr}\nstdout:\n${stdout}`,
                ),
              ),
            );
          }
        };
        const timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new Error(
                  `stablegate ${args.join(" ")} did not print ${pattern} within ${timeoutMs} ms\nstderr:\n${stderr}\nstdout:\n${stdout}`,
                ),
              ),
            ),
          timeoutMs,
        );
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      });
    },
    signal(signal, options = {}) {
      if (child.pid === undefined) throw new Error("the process did not start");
      if (options.group) process.kill(-child.pid, signal);
      else child.kill(signal);
    },
    async kill() {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // The whole group is gone already.
      }
      await exited;
    },
  };
  return proc;
}

/** Runs one `stablegate` command to completion. */
export async function runCli(
  args: string[],
  settings: Record<string, string | undefined>,
  timeoutMs = 120_000,
): Promise<CliExit> {
  const proc = startCli(args, settings);
  const timer = setTimeout(() => void proc.kill(), timeoutMs);
  const result = await proc.exited;
  clearTimeout(timer);
  if (result.signal === "SIGKILL") {
    throw new Error(
      `stablegate ${args.join(" ")} did not finish within ${timeoutMs} ms\nstderr:\n${result.stderr}\nstdout:\n${result.stdout}`,
    );
  }
  return result;
}

/** Waits for exit after a signal; rejects when it takes longer than `timeoutMs` (afterAll kills). */
export async function exitWithin(proc: CliProcess, timeoutMs: number): Promise<CliExit> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new Error(
          `stablegate did not exit within ${timeoutMs} ms\nstderr:\n${proc.stderr}\nstdout:\n${proc.stdout}`,
        ),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([proc.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A port for a server a test starts a little later (a CLI process, anvil), one that nothing else
 * takes meanwhile: drawn at random below Linux's ephemeral range (32768-60999), which both the
 * client side of every TCP connection and every `listen(0)` draw from, and checked free by
 * binding it. A port from `listen(0)` itself was taken once by another process between the check
 * and the test's own bind, when two suites ran side by side (.ci/run).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (bound) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
  throw new Error("no free port between 20000 and 32000 after 50 tries");
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Polls an HTTP URL until it answers 200, or the process exits, or time runs out. */
export async function waitForHttp(url: string, proc: CliProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  while (true) {
    if (exited) {
      throw new Error(
        `stablegate exited before ${url} answered\nstderr:\n${proc.stderr}\nstdout:\n${proc.stdout}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${url} did not answer within ${timeoutMs} ms\nstderr:\n${proc.stderr}\nstdout:\n${proc.stdout}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
