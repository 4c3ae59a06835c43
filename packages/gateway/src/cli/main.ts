import { existsSync } from "node:fs";
import path from "node:path";
import { setTimeout } from "node:timers/promises";
import v8 from "node:v8";
import { Command } from "commander";
import type { Logger } from "pino";
import { type Config, ConfigError, loadConfig } from "../platform/config.ts";
import { type AdminRunner, addAdminCommands, type Services } from "./admin-commands.ts";

// The heavy modules (viem, PGlite, hono) load inside the commands that need them, so --help and
// configuration errors answer at once.
const gatewayModule = () => import("../gateway.ts");
/** How long an admin command waits for a running gateway's admin socket to appear. */
const ADMIN_SOCKET_WAIT_MS = 10_000;

function config(): Config {
  return loadConfig();
}

function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nstopping...\n");
    stop().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

/**
 * The admin commands' runner: opens the database, runs the action, prints its result as JSON.
 * When a running gateway holds the embedded database (PGlite in DATA_DIR), the command is sent
 * to that gateway's admin socket instead and runs there: no downtime, the same output.
 */
const runAdmin: AdminRunner = async (action, options = {}) => {
  const cfg = config();
  if (!cfg.DATABASE_URL) {
    const { lockOwner } = await import("../platform/database/data-dir-lock.ts");
    const owner = lockOwner(path.join(cfg.DATA_DIR, "pglite.lock"));
    if (owner !== undefined) {
      const { sendAdminCommand } = await import("./admin-socket.ts");
      // A gateway opens its socket a moment after it starts serving HTTP: a script that waited
      // for /readyz and runs an admin command at once must not find it missing.
      const deadline = performance.now() + ADMIN_SOCKET_WAIT_MS;
      for (;;) {
        try {
          show(
            await sendAdminCommand(cfg.DATA_DIR, options.forwardArgv ?? process.argv.slice(2)),
            options.render,
          );
          return;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== "ENOENT" && code !== "ECONNREFUSED") throw err;
          if (performance.now() > deadline) {
            throw new ConfigError(
              `DATA_DIR: the embedded database is in use by process ${owner}, which has no admin socket; stop it first, or use DATABASE_URL to share a PostgreSQL server`,
            );
          }
          await setTimeout(100);
        }
      }
    }
  }
  // Most admin commands need no seed; an empty one keeps them usable without the secret.
  let seed: Uint8Array = new Uint8Array(64);
  if (options.seed) {
    const { loadSeed } = await import("../chain/seed.ts");
    // The hot wallet derives from the operator's seed; the sandbox keeps its own in DATA_DIR.
    const sandboxSeed = path.join(cfg.DATA_DIR, "seed.txt");
    seed = loadSeed({
      seedPhrase: cfg.SEED_PHRASE,
      seedFile: cfg.SEED_FILE ?? (existsSync(sandboxSeed) ? sandboxSeed : undefined),
    });
  }
  show(await withServices(cfg, action, seed), options.render);
};

function show(value: unknown, render?: (value: unknown) => { text: string; exitCode: number }) {
  if (!render) return print(value);
  const { text, exitCode } = render(value);
  console.log(text);
  process.exitCode = exitCode;
}

/** Opens the database directly for one admin command. */
async function withServices<T>(cfg: Config, fn: (s: Services) => Promise<T>, seed: Uint8Array) {
  const { createLogger } = await import("../platform/logger.ts");
  const { createServices, openDatabase } = await gatewayModule();
  const database = await openDatabase(cfg);
  try {
    const log = createLogger({ level: cfg.LOG_LEVEL, pretty: cfg.LOG_PRETTY });
    return await fn(createServices({ config: cfg, database, seed, log }));
  } finally {
    await database.close();
  }
}

/** Admin commands on an embedded database keep working while this gateway runs. */
async function serveAdmin(cfg: Config, services: Services, log: Logger) {
  if (cfg.DATABASE_URL) return async () => {};
  const { serveAdminSocket } = await import("./admin-socket.ts");
  return serveAdminSocket({ dataDir: cfg.DATA_DIR, services, log });
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

const program = new Command("stablegate").description("Self-hosted stablecoin payment gateway");

const dev = program
  .command("dev")
  .description("run the sandbox: local chain, test USDT, sandbox organisation, API on PGlite")
  .action(async () => {
    // The sandbox idles in a developer's background: V8 then favours memory over speed (a young
    // generation of 8 MB rather than 32, a heap that grows less between collections, compaction),
    // which is most of what keeps its idle memory under 350 MB, a restart's included
    // (docs/benchmarks.md, "the sandbox's memory, where it goes"). Set before the gateway loads.
    v8.setFlagsFromString("--optimize-for-size");
    // A developer watching a refund or a collection should not wait for 50 sweeps to gather:
    // the sandbox sends its batch after 2 s unless SWEEP_MAX_WAIT_MS says otherwise.
    const cfg = loadConfig({ SWEEP_MAX_WAIT_MS: "2000", ...process.env });
    const { createLogger } = await import("../platform/logger.ts");
    const { sandboxBanner, startSandbox } = await import("../sandbox/sandbox.ts");
    const log = createLogger({ level: cfg.LOG_LEVEL, pretty: cfg.LOG_PRETTY });
    const sandbox = await startSandbox(cfg, log);
    // Signals first: a stop asked for while the socket opens still stops the sandbox.
    let closeAdmin = async () => {};
    stopOnSignals(async () => {
      await closeAdmin();
      await sandbox.stop();
    });
    closeAdmin = await serveAdmin(cfg, sandbox.gateway.services, log);
    process.stdout.write(sandboxBanner(sandbox));
  });

dev
  .command("pay")
  .description("pay a sandbox payment intent from the sandbox payer (the full amount by default)")
  .argument("<payment_intent_id>")
  .argument("[amount]", "token amount, e.g. 5.5")
  .option(
    "--token <symbol>",
    "pay in this test token (USDT or USDC): chosen on the intent first, as the payer would on the checkout",
  )
  .action(async (paymentIntentId: string, amount: string | undefined, o: { token?: string }) => {
    const cfg = config();
    const { paySandboxIntent } = await import("../sandbox/sandbox-pay.ts");
    const paid = await paySandboxIntent({
      dataDir: cfg.DATA_DIR,
      paymentIntentId,
      amount,
      token: o.token,
    });
    console.log(
      `sent ${paid.amount} ${paid.symbol} to ${paid.to} in ${paid.txHash} (block ${paid.blockNumber}); watch: GET /v1/studio/api/payment/intent/${paymentIntentId}`,
    );
  });

program
  .command("serve")
  .description(
    "run the gateway (production): DATABASE_URL or PGlite in DATA_DIR, seed from SEED_FILE or SEED_PHRASE",
  )
  .option(
    "--role <role>",
    "api (HTTP only), worker (background loops; /healthz and /readyz only) or all (default: ROLE, else all)",
  )
  .action(async (o: { role?: string }) => {
    const cfg = loadConfig(undefined, { ROLE: o.role });
    const { requireDeliberateRateSource } = await import("../rates/create-rate-provider.ts");
    requireDeliberateRateSource(cfg);
    const { createLogger } = await import("../platform/logger.ts");
    const { loadSeed } = await import("../chain/seed.ts");
    const { startGateway } = await gatewayModule();
    const log = createLogger({ level: cfg.LOG_LEVEL, pretty: cfg.LOG_PRETTY });
    const seed = loadSeed({ seedPhrase: cfg.SEED_PHRASE, seedFile: cfg.SEED_FILE });
    const gateway = await startGateway({ config: cfg, log, seed });
    let closeAdmin = async () => {};
    stopOnSignals(async () => {
      await closeAdmin();
      await gateway.stop();
    });
    closeAdmin = await serveAdmin(cfg, gateway.services, log);
  });

addAdminCommands(program, runAdmin);

program
  .command("wallets")
  .description("the gas wallet (fund it with native coin on every chain) and the fee address")
  .action(async () => {
    const cfg = config();
    const { existsSync } = await import("node:fs");
    const path = await import("node:path");
    const { loadSeed } = await import("../chain/seed.ts");
    const { createWallets } = await import("../chain/wallets.ts");
    const { getAddress } = await import("viem");
    // The sandbox's seed when no production seed is configured (never generated here).
    const sandboxSeed = existsSync(path.join(cfg.DATA_DIR, "seed.txt")) ? cfg.DATA_DIR : undefined;
    const wallets = createWallets(
      loadSeed({ seedPhrase: cfg.SEED_PHRASE, seedFile: cfg.SEED_FILE, generateInto: sandboxSeed }),
    );
    print({
      gas_wallet: wallets.gasWallet().address,
      fee_address: cfg.FEE_ADDRESS ? getAddress(cfg.FEE_ADDRESS) : wallets.feeWallet().address,
      fee_address_source: cfg.FEE_ADDRESS ? "FEE_ADDRESS" : "seed (fee wallet)",
    });
  });
try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Expected failures get one readable line, not a stack trace.
  const { SeedError } = await import("../chain/seed.ts");
  const { DomainError } = await import("../platform/errors.ts");
  const { AdminSocketError } = await import("./admin-socket.ts");
  if (err instanceof AdminSocketError) {
    // The gateway worded it as this CLI would have.
    console.error(err.message);
    process.exit(1);
  }
  if (err instanceof ConfigError || err instanceof SeedError || err instanceof DomainError) {
    console.error(`stablegate: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
