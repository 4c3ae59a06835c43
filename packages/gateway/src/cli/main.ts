import { Command, InvalidArgumentError } from "commander";
import { type Config, ConfigError, loadConfig } from "../config/config.ts";

// The heavy modules (viem, PGlite, hono) load inside the commands that need them, so --help and
// configuration errors answer at once.
const gatewayModule = () => import("../gateway.ts");
type Services = ReturnType<Awaited<ReturnType<typeof gatewayModule>>["createServices"]>;

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

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("must be a positive integer");
  return n;
};

/** Admin commands open the database directly. On PGlite, stop the server first: one process at a time. */
async function withServices<T>(fn: (s: Services) => Promise<T>): Promise<T> {
  const cfg = config();
  const { createServices, openDatabase } = await gatewayModule();
  const database = await openDatabase(cfg);
  try {
    // Tenancy needs no seed; an empty one keeps admin commands usable without the secret.
    return await fn(createServices({ config: cfg, database, seed: new Uint8Array(64) }));
  } finally {
    await database.close();
  }
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

const program = new Command("stablegate").description("Self-hosted stablecoin payment gateway");

const dev = program
  .command("dev")
  .description("run the sandbox: local chain, test USDT, sandbox organisation, API on PGlite")
  .action(async () => {
    const cfg = config();
    const { createLogger } = await import("../logger.ts");
    const { sandboxBanner, startSandbox } = await import("../sandbox/sandbox.ts");
    const log = createLogger({ level: cfg.LOG_LEVEL, pretty: cfg.LOG_PRETTY });
    const sandbox = await startSandbox(cfg, log);
    process.stdout.write(sandboxBanner(sandbox));
    stopOnSignals(() => sandbox.stop());
  });

dev
  .command("pay")
  .description("pay a sandbox payment intent from the sandbox payer (the full amount by default)")
  .argument("<payment_intent_id>")
  .argument("[amount]", "token amount, e.g. 5.5")
  .action(async (paymentIntentId: string, amount: string | undefined) => {
    const cfg = config();
    const { paySandboxIntent } = await import("../sandbox/sandbox-pay.ts");
    const paid = await paySandboxIntent({ dataDir: cfg.DATA_DIR, paymentIntentId, amount });
    console.log(
      `sent ${paid.amount} to ${paid.to} in ${paid.txHash} (block ${paid.blockNumber}); watch: GET /v1/studio/api/payment/intent/${paymentIntentId}`,
    );
  });

program
  .command("serve")
  .description(
    "run the gateway (production): DATABASE_URL or PGlite in DATA_DIR, seed from SEED_FILE or SEED_PHRASE",
  )
  .action(async () => {
    const cfg = config();
    const { createLogger } = await import("../logger.ts");
    const { loadSeed } = await import("../chain/seed.ts");
    const { startGateway } = await gatewayModule();
    const log = createLogger({ level: cfg.LOG_LEVEL, pretty: cfg.LOG_PRETTY });
    const seed = loadSeed({ seedPhrase: cfg.SEED_PHRASE, seedFile: cfg.SEED_FILE });
    const gateway = await startGateway({ config: cfg, log, seed });
    stopOnSignals(() => gateway.stop());
  });

const org = program.command("org").description("manage organisations");
org
  .command("create")
  .requiredOption("--name <name>", "organisation name")
  .option(
    "--chain <chain>",
    "default payment chain (eth, arb, base, bsc, polygon, optimism)",
    "arb",
  )
  .option("--token <symbol>", "default payment token (USDT or USDC)", "USDT")
  .action((o: { name: string; chain: string; token: string }) =>
    withServices(async ({ tenancy }) =>
      print(
        await tenancy.createOrganization({
          name: o.name,
          defaultChainId: o.chain,
          defaultTokenSymbol: o.token,
        }),
      ),
    ),
  );
org
  .command("rotate-webhook-secret")
  .description(
    "make a new webhook signing secret (shown once); the old one keeps signing for 24 hours",
  )
  .argument("<org_id>", "organisation id", positiveInt)
  .action((orgId: number) =>
    withServices(async ({ tenancy, webhookSecrets }) => {
      await tenancy.getOrganization(orgId);
      const { secret, previousValidUntil } = await webhookSecrets.rotate(orgId);
      print({
        org_id: orgId,
        webhook_secret: secret,
        previous_secret_valid_until: previousValidUntil.toISOString(),
      });
    }),
  );
org
  .command("list")
  .action(() => withServices(async ({ tenancy }) => print(await tenancy.listOrganizations())));

const client = program
  .command("client")
  .description("manage clients (client_id and allowed origins)");
client
  .command("create")
  .requiredOption("--org <id>", "organisation id", positiveInt)
  .requiredOption("--name <name>", "client name")
  .option("--origin <origin...>", "allowed browser origin(s), e.g. https://shop.example", [])
  .action((o: { org: number; name: string; origin: string[] }) =>
    withServices(async ({ tenancy }) =>
      print(await tenancy.createClient({ orgId: o.org, name: o.name, allowedOrigins: o.origin })),
    ),
  );
client
  .command("list")
  .requiredOption("--org <id>", "organisation id", positiveInt)
  .action((o: { org: number }) =>
    withServices(async ({ tenancy }) => print(await tenancy.listClients(o.org))),
  );
client
  .command("set-origins")
  .argument("<client_id>")
  .argument("<origins...>")
  .action((clientId: string, origins: string[]) =>
    withServices(async ({ tenancy }) => print(await tenancy.setAllowedOrigins(clientId, origins))),
  );

const key = program.command("key").description("manage API keys");
key
  .command("create")
  .requiredOption("--org <id>", "organisation id", positiveInt)
  .option("--name <name>", "a label for the key", "default")
  .action((o: { org: number; name: string }) =>
    withServices(async ({ tenancy }) => {
      const created = await tenancy.createApiKey({ orgId: o.org, name: o.name });
      print({ id: created.id, api_key: created.secret, note: "shown once: store it now" });
    }),
  );
key
  .command("list")
  .requiredOption("--org <id>", "organisation id", positiveInt)
  .action((o: { org: number }) =>
    withServices(async ({ tenancy }) => print(await tenancy.listApiKeys(o.org))),
  );
key
  .command("revoke")
  .argument("<id>", "API key id", positiveInt)
  .action((id: number) =>
    withServices(async ({ tenancy }) => {
      await tenancy.revokeApiKey(id);
      print({ revoked: id });
    }),
  );

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Expected failures get one readable line, not a stack trace.
  const { SeedError } = await import("../chain/seed.ts");
  const { DomainError } = await import("../domain/errors.ts");
  if (err instanceof ConfigError || err instanceof SeedError || err instanceof DomainError) {
    console.error(`stablegate: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
