import { existsSync } from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { type Config, ConfigError, loadConfig } from "../platform/config.ts";

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

// Ids are PostgreSQL integers: digits only (no "1e3" or "0x10"), at most 2^31 - 1.
const positiveInt = (v: string) => {
  const n = Number(v);
  if (!/^[1-9]\d{0,9}$/.test(v) || n > 2_147_483_647)
    throw new InvalidArgumentError("must be a positive whole number up to 2147483647");
  return n;
};

/** Admin commands open the database directly. On PGlite, stop the server first: one process at a time. */
async function withServices<T>(
  fn: (s: Services) => Promise<T>,
  seed: Uint8Array = new Uint8Array(64),
): Promise<T> {
  const cfg = config();
  const { createLogger } = await import("../platform/logger.ts");
  const { createServices, openDatabase } = await gatewayModule();
  const database = await openDatabase(cfg);
  try {
    // Most admin commands need no seed; an empty one keeps them usable without the secret.
    const log = createLogger({ level: cfg.LOG_LEVEL, pretty: cfg.LOG_PRETTY });
    return await fn(createServices({ config: cfg, database, seed, log }));
  } finally {
    await database.close();
  }
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));

function limitsInput(o: { maxTransfer?: string; dailyCap?: string }) {
  if (o.maxTransfer === undefined && o.dailyCap === undefined) {
    program.error("stablegate: give --max-transfer and/or --daily-cap");
  }
  const value = (v: string) => (v === "none" ? null : v);
  return {
    ...(o.maxTransfer === undefined ? {} : { maxTransfer: value(o.maxTransfer) }),
    ...(o.dailyCap === undefined ? {} : { dailyCap: value(o.dailyCap) }),
  };
}

const limitsOutput = (l: { maxTransfer: string | null; dailyCap: string | null }) => ({
  max_transfer_amount: l.maxTransfer,
  daily_transfer_cap: l.dailyCap,
});

const program = new Command("stablegate").description("Self-hosted stablecoin payment gateway");

const dev = program
  .command("dev")
  .description("run the sandbox: local chain, test USDT, sandbox organisation, API on PGlite")
  .action(async () => {
    const cfg = config();
    const { createLogger } = await import("../platform/logger.ts");
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
    const { requireDeliberateRateSource } = await import("../rates/create-rate-provider.ts");
    requireDeliberateRateSource(cfg);
    const { createLogger } = await import("../platform/logger.ts");
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
org
  .command("set-treasury")
  .description("where the organisation's successful payments are collected (an EVM address)")
  .argument("<org_id>", "organisation id", positiveInt)
  .argument("<address>", "treasury address, 0x…")
  .action((orgId: number, address: string) =>
    withServices(async ({ treasurySettings }) =>
      print(await treasurySettings.setTreasury(orgId, address)),
    ),
  );
org
  .command("set-fee")
  .description("the operator's fee on the organisation's collections, in basis points (100 = 1%)")
  .argument("<org_id>", "organisation id", positiveInt)
  .argument("<bps>", "basis points, 0-10000", (v: string) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError("must be a whole number 0-10000");
    return Number(v);
  })
  .action((orgId: number, bps: number) =>
    withServices(async ({ treasurySettings }) => print(await treasurySettings.setFee(orgId, bps))),
  );

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
org
  .command("wallet")
  .description(
    "the organisation's hot wallet (transfers are sent from it; fund it with tokens and gas) and its balances on chains with RPC URLs",
  )
  .argument("<org_id>", "organisation id", positiveInt)
  .action(async (orgId: number) => {
    const cfg = config();
    const { loadSeed } = await import("../chain/seed.ts");
    // The hot wallet derives from the operator's seed; the sandbox keeps its own in DATA_DIR.
    const sandboxSeed = path.join(cfg.DATA_DIR, "seed.txt");
    const seed = loadSeed({
      seedPhrase: cfg.SEED_PHRASE,
      seedFile: cfg.SEED_FILE ?? (existsSync(sandboxSeed) ? sandboxSeed : undefined),
    });
    await withServices(async ({ tenancy, payouts }) => {
      await tenancy.getOrganization(orgId);
      const wallet = await payouts.walletOf(orgId);
      print({ org_id: orgId, hot_wallet_address: wallet.address, chains: wallet.chains });
    }, seed);
  });
org
  .command("set-limits")
  .description(
    "risk limits for transfers, in token units (USDT/USDC); 'none' removes a limit. The daily cap resets at 00:00 UTC",
  )
  .argument("<org_id>", "organisation id", positiveInt)
  .option("--max-transfer <amount>", "largest single transfer, e.g. 1000")
  .option("--daily-cap <amount>", "total of the day's transfers, e.g. 10000")
  .action((orgId: number, o: { maxTransfer?: string; dailyCap?: string }) =>
    withServices(async ({ transferLimits }) =>
      print({
        org_id: orgId,
        ...limitsOutput(await transferLimits.setOrgLimits(orgId, limitsInput(o))),
      }),
    ),
  );

const client = program
  .command("client")
  .description("manage clients (client_id, allowed origins and callback hosts)");
client
  .command("create")
  .requiredOption("--org <id>", "organisation id", positiveInt)
  .requiredOption("--name <name>", "client name")
  .option("--origin <origin...>", "allowed browser origin(s), e.g. https://shop.example", [])
  .option(
    "--callback-host <host...>",
    "host(s) a browser create may send callback_url to, e.g. shop.example; * for any (default: none)",
    [],
  )
  .action((o: { org: number; name: string; origin: string[]; callbackHost: string[] }) =>
    withServices(async ({ tenancy }) =>
      print(
        await tenancy.createClient({
          orgId: o.org,
          name: o.name,
          allowedOrigins: o.origin,
          allowedCallbackHosts: o.callbackHost,
        }),
      ),
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
client
  .command("set-callback-hosts")
  .description(
    "replace the hosts a browser create (no API key) may send callback_url to; none: no callbacks from the browser, *: any host",
  )
  .argument("<client_id>")
  .argument("[hosts...]")
  .action((clientId: string, hosts: string[]) =>
    withServices(async ({ tenancy }) =>
      print(await tenancy.setAllowedCallbackHosts(clientId, hosts)),
    ),
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
  .command("set-limits")
  .description("this key's own transfer limits (besides its organisation's); 'none' removes one")
  .argument("<id>", "API key id", positiveInt)
  .option("--max-transfer <amount>", "largest single transfer, e.g. 100")
  .option("--daily-cap <amount>", "total of the day's transfers by this key, e.g. 1000")
  .action((id: number, o: { maxTransfer?: string; dailyCap?: string }) =>
    withServices(async ({ transferLimits }) =>
      print({ key_id: id, ...limitsOutput(await transferLimits.setKeyLimits(id, limitsInput(o))) }),
    ),
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
  const { DomainError } = await import("../platform/errors.ts");
  if (err instanceof ConfigError || err instanceof SeedError || err instanceof DomainError) {
    console.error(`stablegate: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
