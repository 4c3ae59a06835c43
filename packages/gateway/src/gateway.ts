import type { AddressInfo } from "node:net";
import path from "node:path";
import { type ServerType, serve } from "@hono/node-server";
import { sql } from "kysely";
import type { Logger } from "pino";
import { type Address, getAddress, parseGwei } from "viem";
import { createInvitationMailer } from "./admin/invitation-mail.ts";
import { createOperatorAccounts } from "./admin/operator-accounts.ts";
import { createCallbackPreferences } from "./callbacks/callback-preferences.ts";
import { createCallbackService } from "./callbacks/callback-service.ts";
import { createCallbackDispatcher } from "./callbacks/dispatcher.ts";
import { CALLBACK_TOPIC } from "./callbacks/outbox.ts";
import { createCallbackUrlGuard, type Resolve } from "./callbacks/url-guard.ts";
import {
  type ChainRegistry,
  createChainRegistry,
  type RegisteredChain,
} from "./chain/chain-registry.ts";
import { createDepositAddresses, createDepositAddressPool } from "./chain/deposit-addresses.ts";
import { createBlockFollower } from "./chain/follower/index.ts";
import type { GasStrategy } from "./chain/known-chains.ts";
import type { CrashPoint } from "./chain/tx-manager/broadcaster.ts";
import { CHAIN_TXS_TOPIC, createTxManager } from "./chain/tx-manager/tx-manager.ts";
import { createWallets, type Wallets } from "./chain/wallets.ts";
import { createApp, createServiceApp } from "./http/create-app.ts";
import { createIdempotencyStore } from "./http/idempotency-store.ts";
import { createAddressBook } from "./ledger/address-book.ts";
import { backfillLedger } from "./ledger/backfill.ts";
import { recordChainTx } from "./ledger/money-events.ts";
import { createReconciler } from "./ledger/reconcile.ts";
import { registerDatabaseGauges } from "./observability/collectors.ts";
import { createMetrics, type Metrics } from "./observability/metrics.ts";
import { registerWalletBalanceGauge } from "./observability/wallet-balances.ts";
import { createCheckoutLogos } from "./organizations/checkout-logos.ts";
import { createOrgSettings } from "./organizations/org-settings.ts";
import { createTenancyCache } from "./organizations/tenancy-cache.ts";
import { createTenancyService } from "./organizations/tenancy-service.ts";
import { createTransferLimits } from "./organizations/transfer-limits.ts";
import { createTreasurySettings } from "./organizations/treasury-settings.ts";
import { createWebhookSecrets } from "./organizations/webhook-secrets.ts";
import { createChainHealth } from "./payments/lifecycle/chain-health.ts";
import { createChainIngestService } from "./payments/lifecycle/chain-ingest-service.ts";
import { type ChainWatchers, startChainWatchers } from "./payments/lifecycle/chain-watcher.ts";
import { DEADLINES_TOPIC } from "./payments/lifecycle/deadline-wakeup.ts";
import { createLifecycleService } from "./payments/lifecycle/lifecycle-service.ts";
import { createPaymentLinks } from "./payments/links/payment-link-service.ts";
import { createPaymentIntentService } from "./payments/payment-intent-service.ts";
import { createPayoutService } from "./payouts/payout-service.ts";
import { createWithdrawalService } from "./payouts/withdrawal-service.ts";
import { type Config, ConfigError } from "./platform/config.ts";
import { createDatabase, type DatabaseHandle } from "./platform/database/create-database.ts";
import type { ChainTxPurpose } from "./platform/database/schema.ts";
import { createTableMaintenance } from "./platform/database/table-maintenance.ts";
import { createLeases } from "./platform/lease.ts";
import { createRateProvider } from "./rates/create-rate-provider.ts";
import type { RateProvider } from "./rates/rate-provider.ts";
import { createGasTopUpDepositAccounts } from "./treasury/deposit-accounts.ts";
import { createMerchantRefundService } from "./treasury/merchant-refund-service.ts";
import { createSweepDepositAccounts, SWEEPS_TOPIC } from "./treasury/sweep-deposit-accounts.ts";
import { createTreasuryService } from "./treasury/treasury-service.ts";
import { createTreasuryView } from "./treasury/treasury-view.ts";

export interface GatewayOptions {
  config: Config;
  log: Logger;
  seed: Uint8Array;
  /** Chains known only at run time (the sandbox's local chain). */
  extraChains?: RegisteredChain[];
  /** Use this database instead of opening one from the config (tests share theirs). */
  database?: DatabaseHandle;
  /** How often deadlines are settled (default 5 s); tests shorten it. */
  settleIntervalMs?: number;
  /** Callbacks may go to private addresses (the sandbox: the developer's own machine). */
  allowPrivateCallbacks?: boolean;
  /** Studio's cookies without `Secure` (the sandbox serves plain http). */
  insecureCookies?: boolean;
  /** The callback dispatcher's clock and DNS; tests replace them. */
  callbackClock?: () => Date;
  resolve?: Resolve;
  /** Crash tests only: the transaction manager kills this process after it signs or broadcasts a transaction of this purpose. */
  crashTxAt?: { point: CrashPoint; purpose: ChainTxPurpose } | undefined;
}

export interface Gateway {
  url: string;
  port: number;
  services: ReturnType<typeof createServices>;
  database: DatabaseHandle;
  /** This process's chain watchers (none for the api role): status() per chain, for metrics. */
  watchers: ChainWatchers | undefined;
  stop(): Promise<void>;
}

// Deposit indexes reserved per round trip. Those a process holds when it stops are never used,
// which costs nothing but a gap in the sequence.
const DEPOSIT_INDEX_BATCH = 32;

export function createServices(options: {
  config: Config;
  database: DatabaseHandle;
  seed: Uint8Array;
  extraChains?: RegisteredChain[] | undefined;
  rates?: RateProvider;
  log: Logger;
  allowPrivateCallbacks?: boolean | undefined;
  callbackClock?: (() => Date) | undefined;
  resolve?: Resolve | undefined;
  metrics?: Metrics | undefined;
  crashTxAt?: { point: CrashPoint; purpose: ChainTxPurpose } | undefined;
}) {
  const { config, database } = options;
  const callbackGuard = createCallbackUrlGuard({
    allowedNetworks: config.CALLBACK_ALLOWED_NETWORKS,
    allowPrivate: options.allowPrivateCallbacks ?? false,
    ...(options.resolve ? { resolve: options.resolve } : {}),
  });
  const webhookSecrets = createWebhookSecrets({
    db: database.db,
    ...(options.callbackClock ? { now: options.callbackClock } : {}),
  });
  const chains = createChainRegistry({
    rpcUrls: config.rpcUrls,
    wsUrls: config.wsUrls,
    extraTokens: config.tokens,
    logsBloom: config.logsBloom,
    ...(options.extraChains ? { extraChains: options.extraChains } : {}),
  });
  const tenancy = createTenancyService({
    db: database.db,
    chains,
    webhookSecrets,
    cache: createTenancyCache({
      maxEntries: config.TENANCY_CACHE_MAX_ENTRIES,
      maxAgeMs: config.TENANCY_CACHE_MAX_AGE_SECONDS * 1000,
    }),
  });
  const lifecycle = createLifecycleService({
    db: database.db,
    graceSeconds: config.CONFIRMATION_GRACE_SECONDS,
  });
  const wallets = createWallets(options.seed);
  const addressBook = createAddressBook({ wallets });
  const ingest = createChainIngestService({ db: database.db, lifecycle, addressBook });
  const chainHealth = createChainHealth({
    db: database.db,
    maxLagBlocks: config.READY_MAX_LAG_BLOCKS,
    stallMs: config.READY_STALL_MS,
  });
  const depositAddresses = createDepositAddressPool({
    db: database.db,
    addresses: createDepositAddresses(options.seed),
    batch: DEPOSIT_INDEX_BATCH,
    log: options.log,
  });
  const intents = createPaymentIntentService({
    db: database.db,
    chains,
    rates: options.rates ?? createRateProvider(config),
    depositAddresses,
    profile: tenancy.profile,
    ttlSeconds: config.PAYMENT_TTL_SECONDS,
    cryptoDecimals: config.CRYPTO_AMOUNT_DECIMALS,
    callbackUrlGuard: callbackGuard,
  });
  const dispatcher = createCallbackDispatcher({
    db: database.db,
    log: options.log,
    guard: callbackGuard,
    secrets: webhookSecrets,
    pollIntervalMs: config.CALLBACK_POLL_MS,
    concurrency: config.CALLBACK_CONCURRENCY,
    timeoutMs: config.CALLBACK_TIMEOUT_MS,
    ...(options.callbackClock ? { now: options.callbackClock } : {}),
    onAttempt: options.metrics?.callbackDelivered,
  });
  const callbacks = createCallbackService({
    db: database.db,
    intents,
    ...(options.callbackClock ? { now: options.callbackClock } : {}),
  });
  // Which single jobs (chain followers, deadline settler, tx managers) this process runs.
  const leases = createLeases({
    db: database.db,
    log: options.log,
    ttlMs: config.LEASE_TTL_MS,
    renewMs: config.LEASE_RENEW_MS,
  });
  const txManager = createTxManager({
    db: database.db,
    chains,
    log: options.log,
    leases,
    confirmations: (key) => chainConfirmations(config, chains, key),
    pollIntervalMs: (key) => chains.get(key).pollingIntervalMs ?? config.CHAIN_POLL_MS,
    replaceAfterBlocks: config.TX_REPLACE_AFTER_BLOCKS,
    maxFeePerGasCap: parseGwei(String(config.TX_MAX_FEE_GWEI)),
    resolveSigner: (address) => findSigner(database, wallets, address),
    onReplaced: options.metrics?.txReplaced,
    onSettled: (trx, row) => recordChainTx(trx, row, addressBook),
    crashAt: options.crashTxAt?.point,
    crashPurpose: options.crashTxAt?.purpose,
  });
  const payouts = createPayoutService({ db: database.db, chains, txManager, wallets });
  const treasurySettings = createTreasurySettings({ db: database.db });
  const topUps = createGasTopUpDepositAccounts({
    db: database.db,
    txManager,
    wallets,
    headroomPercent: config.GAS_TOPUP_HEADROOM_PERCENT,
  });
  const sweeps = createSweepDepositAccounts({
    db: database.db,
    chains,
    txManager,
    wallets,
    leases,
    book: addressBook,
    log: options.log,
    batchSize: config.SWEEP_BATCH_SIZE,
    maxWaitMs: config.SWEEP_MAX_WAIT_MS,
    intervalMs: config.TREASURY_INTERVAL_MS,
    enabled: (key) => chainGasStrategy(config, chains, key) === "eip7702",
  });
  const gasStrategy = (key: string) => chainGasStrategy(config, chains, key);
  const treasury = createTreasuryService({
    db: database.db,
    txManager,
    // Per chain (GAS_STRATEGY_<CHAIN>): a batch's sweeps are settled by the sweep strategy, a
    // top-up's transfer by the top-up strategy. A request already made a sweep stays one after a
    // switch to top-ups: the top-up strategy, not knowing the sweep, would send it a second time.
    depositAccounts: {
      transfer: async (request) =>
        gasStrategy(request.chainKey) === "eip7702" || (await sweeps.has(request.idempotencyKey))
          ? sweeps.transfer(request)
          : topUps.transfer(request),
      settled: (tx) => (tx.purpose === "sweep_batch" ? sweeps.settled(tx) : topUps.settled(tx)),
    },
    feeAddress: () =>
      config.FEE_ADDRESS ? getAddress(config.FEE_ADDRESS) : wallets.feeWallet().address,
    collectionDelaySeconds: config.COLLECTION_DELAY_SECONDS,
    quoteDecimals: config.CRYPTO_AMOUNT_DECIMALS,
    intervalMs: config.TREASURY_INTERVAL_MS,
    log: options.log,
    onStatusChange: () => dispatcher.nudge(),
  });
  return {
    chains,
    callbackGuard,
    tenancy,
    intents,
    depositAddresses,
    orgSettings: createOrgSettings({ db: database.db, chains, changed: tenancy.changed }),
    checkoutLogos: createCheckoutLogos({ db: database.db }),
    paymentLinks: createPaymentLinks({ db: database.db, intents, tenancy }),
    idempotency: createIdempotencyStore({ db: database.db }),
    lifecycle,
    ingest,
    chainHealth,
    callbacks,
    dispatcher,
    webhookSecrets,
    wallets,
    addressBook,
    leases,
    txManager,
    payouts,
    transferLimits: createTransferLimits({ db: database.db }),
    operators: createOperatorAccounts({ db: database.db }),
    treasurySettings,
    withdrawals: createWithdrawalService({ db: database.db, chains, payouts, txManager, wallets }),
    reconciler: createReconciler({
      db: database.db,
      chains,
      book: addressBook,
      client: txManager.client,
    }),
    treasuryView: createTreasuryView({
      db: database.db,
      chains,
      treasurySettings,
      walletOf: payouts.walletOf,
    }),
    callbackPreferences: createCallbackPreferences({ db: database.db }),
    merchantRefunds: createMerchantRefundService({
      db: database.db,
      nudge: () => treasury.nudge(),
    }),
    treasury,
    sweeps,
    gasStrategy,
    /** Invitation links by email too, when SMTP_URL is set (Studio and `org invite`). */
    invitationMailer:
      config.SMTP_URL === undefined || config.SMTP_FROM === undefined
        ? undefined
        : createInvitationMailer({
            url: config.SMTP_URL,
            from: config.SMTP_FROM,
            log: options.log,
          }),
  };
}

/** A chain's gas strategy: GAS_STRATEGY_<CHAIN>, else the chain's own default, else top-ups. */
function chainGasStrategy(config: Config, chains: ChainRegistry, key: string): GasStrategy {
  return (
    config.gasStrategies[key as keyof Config["gasStrategies"]] ??
    chains.get(key).gasStrategy ??
    "topup"
  );
}

/** A chain's confirmation policy: the chain's own (sandbox), else CONFIRMATIONS_<CHAIN>, else 1. */
function chainConfirmations(config: Config, chains: ChainRegistry, key: string) {
  return (
    chains.get(key).confirmations ?? config.confirmations[key as keyof Config["confirmations"]] ?? 1
  );
}

/** The key behind one of the gateway's own addresses, for re-signing after a restart. */
async function findSigner(database: DatabaseHandle, wallets: Wallets, address: Address) {
  const wanted = address.toLowerCase();
  for (const account of [wallets.gasWallet(), wallets.feeWallet()])
    if (account.address.toLowerCase() === wanted) return account;
  const intent = await database.db
    .selectFrom("payment_intents")
    .select("deposit_index")
    .where(sql<string>`lower(payment_address)`, "=", wanted)
    .executeTakeFirst();
  if (intent) return wallets.depositAccount(intent.deposit_index);
  const orgs = await database.db.selectFrom("organizations").select("id").execute();
  return orgs
    .map((o) => wallets.hotWallet(o.id))
    .find((account) => account.address.toLowerCase() === wanted);
}

export function openDatabase(config: Config): Promise<DatabaseHandle> {
  return createDatabase({
    url: config.DATABASE_URL,
    dataDir: config.DATABASE_URL ? undefined : path.join(config.DATA_DIR, "pglite"),
  });
}

/**
 * Opens the database, builds the services and, by config.ROLE, serves the API (api), runs the
 * background loops (worker; HTTP is then /healthz and /readyz alone) or both (all), until stop().
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, log } = options;
  const database = options.database ?? (await openDatabase(config));
  const metrics = createMetrics();
  const services = createServices({
    config,
    database,
    seed: options.seed,
    extraChains: options.extraChains,
    log,
    allowPrivateCallbacks: options.allowPrivateCallbacks,
    callbackClock: options.callbackClock,
    resolve: options.resolve,
    metrics,
    crashTxAt: options.crashTxAt,
  });
  // The database answers, and every chain with RPC URLs is followed (by this process or another)
  // without stalling or lagging: judged from chain_status, the same on every process and role.
  // Without the chains (`/readyz?exclude=chains`): whether this process can serve requests.
  const ready = async (scope: { chains: boolean } = { chains: true }) => {
    try {
      await sql`select 1`.execute(database.db);
      if (!scope.chains) return true;
      const chains = await services.chainHealth.check(
        services.chains
          .list()
          .filter((c) => c.rpcUrls.length > 0)
          .map((c) => c.key),
      );
      return { ready: chains.every((c) => c.ready), chains };
    } catch {
      return false;
    }
  };
  registerDatabaseGauges(metrics, {
    db: database.db,
    log,
    replaceAfterBlocks: config.TX_REPLACE_AFTER_BLOCKS,
    ready: async () => {
      const report = await ready();
      return typeof report === "boolean" ? report : report.ready;
    },
  });
  registerWalletBalanceGauge(metrics, {
    db: database.db,
    chains: services.chains,
    wallets: services.wallets,
    client: services.txManager.client,
    log,
    ttlMs: config.METRICS_BALANCE_TTL_SECONDS * 1000,
  });
  const role = config.ROLE;
  // What requests read about their caller is cached once this process hears other processes'
  // changes; a worker serves no such requests.
  const stopListening =
    role === "worker" ? undefined : await services.tenancy.listen(database.notifications);
  const readiness = () => ({
    role,
    leases: services.leases.held().map((l) => l.name),
  });
  const app =
    role === "worker"
      ? createServiceApp({ log, ready, readiness, metrics, metricsToken: config.METRICS_TOKEN })
      : createApp({
          tenancy: services.tenancy,
          intents: services.intents,
          checkoutLogos: services.checkoutLogos,
          callbacks: services.callbacks,
          payouts: services.payouts,
          merchantRefunds: services.merchantRefunds,
          paymentLinks: services.paymentLinks,
          idempotency: services.idempotency,
          log,
          maxBodyBytes: config.MAX_BODY_BYTES,
          rateLimits: {
            windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
            perApiKey: config.RATE_LIMIT_PER_API_KEY,
            perClient: config.RATE_LIMIT_PER_CLIENT,
            perIp: config.RATE_LIMIT_PER_IP,
            trustProxy: config.TRUST_PROXY,
          },
          ready,
          readiness,
          metrics,
          metricsToken: config.METRICS_TOKEN,
          studio: {
            db: database.db,
            log,
            secureCookies: !options.insecureCookies,
            sessionIdleMs: config.STUDIO_SESSION_IDLE_MINUTES * 60_000,
            sessionAbsoluteMs: config.STUDIO_SESSION_MAX_HOURS * 3_600_000,
            trustProxy: config.TRUST_PROXY,
            tenancy: services.tenancy,
            health: {
              chains: services.chains,
              chainHealth: services.chainHealth,
              wallets: services.wallets,
              client: services.txManager.client,
              replaceAfterBlocks: config.TX_REPLACE_AFTER_BLOCKS,
              lowNativeBalance: config.GAS_WALLET_LOW_BALANCE,
            },
            chains: services.chains,
            callbacks: services.callbacks,
            callbackGuard: services.callbackGuard,
            webhookSecrets: services.webhookSecrets,
            callbackTimeoutMs: config.CALLBACK_TIMEOUT_MS,
            wallets: services.wallets,
            rpcClient: services.txManager.client,
            withdrawals: services.withdrawals,
            treasury: services.treasuryView,
            orgSettings: services.orgSettings,
            paymentLinks: services.paymentLinks,
            reconciler: services.reconciler,
            merchantRefunds: services.merchantRefunds,
            invitationMailer: services.invitationMailer,
          },
        });
  let server: ServerType;
  try {
    server = await new Promise<ServerType>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, () =>
        resolve(s),
      );
      s.once("error", reject);
    });
  } catch (err) {
    await stopListening?.();
    if (!options.database) await database.close();
    throw listenError(err as NodeJS.ErrnoException, config);
  }
  if (role !== "api")
    await backfillLedger({ db: database.db, book: services.addressBook, log: options.log });
  // Idle keep-alive connections outlive the clients' and proxies' own idle timeouts (undici 4 s,
  // nginx's upstream keepalive 60 s), so the client is the one to close them. With Node's 5 s
  // the server could close a connection just as a client sent the next request on it: "other
  // side closed" (payment-admin.test.ts, seen when a long query held the event loop).
  if ("keepAliveTimeout" in server) server.keepAliveTimeout = 65_000;
  const loops = role === "api" ? undefined : await startLoops(services, database, options, metrics);
  const port = (server.address() as AddressInfo).port;
  const host = config.HOST === "0.0.0.0" || config.HOST === "::" ? "localhost" : config.HOST;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  log.info({ url, database: database.kind, role }, "gateway listening");
  return {
    url,
    port,
    services,
    database,
    watchers: loops?.watchers,
    async stop() {
      await loops?.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stopListening?.();
      await services.depositAddresses.close();
      if (!options.database) await database.close();
    },
  };
}

/** The background loops of a worker (or all) process; single jobs run only under their lease. */
async function startLoops(
  services: Gateway["services"],
  database: DatabaseHandle,
  options: GatewayOptions,
  metrics: Metrics,
) {
  const { config, log } = options;
  // A callback event written by any process (or a lost listening connection, after which some may
  // have been missed) wakes the dispatcher; otherwise it sleeps until its next retry is due.
  const wakeDispatcher = () => services.dispatcher.nudge();
  const unlistenCallbacks = await database.notifications.listen(CALLBACK_TOPIC, {
    message: wakeDispatcher,
    reset: wakeDispatcher,
  });
  // The tx managers sleep while nothing is open; a new transaction (written by any process)
  // wakes them, and so does a lost listening connection (a message may have been missed).
  const unlisten = database.notifications
    .listen(CHAIN_TXS_TOPIC, {
      message: (chainKey) => services.txManager.nudge(chainKey),
      reset: () => services.txManager.nudge(),
    })
    .catch((err: unknown) => {
      log.error({ err }, "could not listen for new chain transactions; nudging on a timer");
      const timer = setInterval(() => services.txManager.nudge(), config.LEASE_RENEW_MS);
      return async () => clearInterval(timer);
    });
  const watchers = startChainWatchers({
    leases: services.leases,
    standbyIntervalMs: config.LEASE_RENEW_MS,
    chains: services.chains.list(),
    confirmations: (key) => chainConfirmations(config, services.chains, key),
    pollingIntervalMs: (key) => services.chains.get(key).pollingIntervalMs ?? config.CHAIN_POLL_MS,
    createFollower: createBlockFollower,
    ingest: services.ingest,
    lifecycle: services.lifecycle,
    log,
    onStatusChange: () => services.dispatcher.nudge(),
    health: services.chainHealth,
    deepReorgRescanBlocks: BigInt(config.DEEP_REORG_RESCAN_BLOCKS),
    metrics: (key) => metrics.chain(key),
    ...(options.settleIntervalMs === undefined
      ? {}
      : { settleIntervalMs: options.settleIntervalMs }),
  });
  // The deadline settler sleeps until the earliest pending deadline; an intent created with an
  // earlier one (on any process) wakes it, and so does a lost listening connection.
  const unlistenDeadlines = database.notifications
    .listen(DEADLINES_TOPIC, {
      message: () => watchers.nudgeSettler(),
      reset: () => watchers.nudgeSettler(),
    })
    .catch((err: unknown) => {
      log.error({ err }, "could not listen for new deadlines; the settler looks every minute");
      return async () => {};
    });
  // The treasury sleeps until its next job is due; work queued by any process (a status change,
  // a merchant refund through the API) wakes it, and so does a lost listening connection.
  const unlistenTreasury = await services.treasury
    .listen(database.notifications)
    .catch((err: unknown) => {
      log.error({ err }, "could not listen for treasury work; the treasury looks every minute");
      return async () => {};
    });
  // A sweep batcher sleeps while its chain has nothing open or in flight; a sweep opened by any
  // process (its treasury loop) wakes it.
  const unlistenSweeps = await database.notifications
    .listen(SWEEPS_TOPIC, {
      message: (chainKey) => services.sweeps.nudge(chainKey),
      reset: () => services.sweeps.nudge(),
    })
    .catch((err: unknown) => {
      log.error({ err }, "could not listen for new sweeps; the batchers look every minute");
      return async () => {};
    });
  services.dispatcher.start();
  services.txManager.start(
    services.chains
      .list()
      .filter((c) => c.rpcUrls.length > 0)
      .map((c) => c.key),
  );
  services.treasury.start();
  // The batcher deploys the sweeper on its chain first if it is not there yet. On a chain on
  // top-ups it only looks for sweeps requested before a switch (and settles them).
  services.sweeps.start(
    services.chains
      .list()
      .filter((c) => c.rpcUrls.length > 0)
      .map((c) => c.key),
  );
  // PGlite has no autovacuum: the gateway analyses and vacuums its tables by autovacuum's rule.
  const maintenance =
    database.kind === "pglite"
      ? createTableMaintenance({ db: database.db, log, intervalMs: 60_000 })
      : undefined;
  maintenance?.start();
  return {
    watchers,
    async stop() {
      await maintenance?.stop();
      await (await unlistenDeadlines)();
      await watchers.stop();
      await unlistenCallbacks();
      await services.dispatcher.stop();
      await unlistenTreasury();
      await services.treasury.stop();
      await unlistenSweeps();
      await services.sweeps.stop();
      await (await unlisten)();
      await services.txManager.stop();
      // Last: another process takes over at once, rather than after the leases run out.
      await services.leases.stop();
    },
  };
}

function listenError(err: NodeJS.ErrnoException, config: Config): Error {
  const where = `${config.HOST}:${config.PORT}`;
  if (err.code === "EADDRINUSE") return new ConfigError(`PORT: ${where} is already in use`);
  if (err.code === "EACCES") return new ConfigError(`PORT: not allowed to listen on ${where}`);
  if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") {
    return new ConfigError(`HOST: cannot listen on ${config.HOST} (${err.code})`);
  }
  return err;
}
