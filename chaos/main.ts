/**
 * `npm run chaos`: three gateway processes on one PostgreSQL, anvil with 1 s blocks behind a TCP
 * proxy, intents of every scenario paid on chain, payouts retried under their idempotency keys,
 * a callback receiver that fails a share of first attempts; meanwhile random kill -9s and
 * restarts, one RPC outage and one reorg before confirmation. Then, once everything is quiet,
 * checks that nothing was lost or paid twice (docs/reliability.md).
 *
 *   npm run chaos                     1,000 intents, 200 payouts, a kill every 6 s
 *   npm run chaos -- --short          100 intents, 20 payouts, 3 kills (CI)
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout } from "node:timers/promises";
import { type Address, getAddress, parseEther, parseUnits } from "viem";
import { english, generateMnemonic } from "viem/accounts";
import { type AddCleanup, runWithCleanups } from "../bench/run-with-cleanups.ts";
import { runCli } from "../packages/gateway/src/testing/cli-process.ts";
import { createApiClient } from "./api.ts";
import { CHAIN_KEY, DECIMALS, type Payer, startChaosChain } from "./chain.ts";
import {
  type CheckResult,
  checkCallbacks,
  checkIntents,
  checkOnChain,
  checkReorg,
} from "./checks.ts";
import { createChaosDatabase } from "./database.ts";
import { type OutageRecord, reorgBeforeConfirmation, rpcOutage, startKiller } from "./faults.ts";
import { planPayouts, runPayouts } from "./payouts.ts";
import { startCluster } from "./processes.ts";
import { startTcpProxy } from "./proxy.ts";
import { waitQuiescent } from "./quiescence.ts";
import { startReceiver } from "./receiver.ts";
import { runReconcile } from "./reconcile.ts";
import { formatReport } from "./report.ts";
import {
  createIntent,
  type PlannedIntent,
  pay,
  payLate,
  paymentsFor,
  planScenarios,
  waitMined,
} from "./scenarios.ts";
import { type ChaosSettings, readSettings, seededRandom } from "./settings.ts";

const BLOCK_TIME_SECONDS = 1;
const CREATE_CONCURRENCY = 8;
const PAYOUT_CONCURRENCY = 3;
const PAYERS = 8;

const settings = readSettings();
const log = (line: string) =>
  console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);
let passed = false;

const cleanedUp = await runWithCleanups(async (addCleanup) => {
  passed = await run(settings, addCleanup);
});
process.exit(passed && cleanedUp ? 0 : 1);

async function run(s: ChaosSettings, addCleanup: AddCleanup): Promise<boolean> {
  const started = Date.now();
  const phases: Array<[string, number]> = [];
  const phase = async <T>(name: string, body: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    log(`${name}…`);
    const result = await body();
    phases.push([name, Date.now() - t]);
    return result;
  };
  const random = seededRandom(s.seed);
  log(
    `seed ${s.seed}: ${s.intents} intents, ${s.payouts} payouts, a kill every ${s.killEverySeconds} s (at most ${s.maxKills}), TTL ${s.ttlSeconds} s`,
  );

  const dir = await mkdtemp(join(tmpdir(), "stablegate-chaos-"));
  let keepDir = true;
  addCleanup("remove the run's directory", async () => {
    if (keepDir) log(`gateway logs kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  });

  const { db, chain, proxy, receiver, env, wallets, apiKey } = await phase("set-up", async () => {
    const db = await createChaosDatabase(s.databaseUrl, s.keepDatabase, addCleanup);
    const chain = await startChaosChain(
      { payers: PAYERS, blockTimeSeconds: BLOCK_TIME_SECONDS },
      addCleanup,
    );
    const proxy = await startTcpProxy(chain.rpcUrl, addCleanup);
    const receiver = await startReceiver({ failShare: s.callbackFailShare, random }, addCleanup);
    const seedFile = join(dir, "seed.txt");
    // A seed of its own: the test mnemonic's addresses are anvil's funded accounts and our payers.
    await writeFile(seedFile, `${generateMnemonic(english)}\n`, { mode: 0o600 });
    const env: Record<string, string> = {
      DATABASE_URL: db.url,
      SEED_FILE: seedFile,
      DATA_DIR: join(dir, "admin-data"),
      RATES_PROVIDER: "static",
      RATES_TWD_PER_USD: "32",
      RPC_URLS_ARB: chain.rpcUrl,
      CONFIRMATIONS_ARB: "2",
      CHAIN_POLL_MS: "500",
      PAYMENT_TTL_SECONDS: String(s.ttlSeconds),
      CALLBACK_ALLOWED_NETWORKS: "127.0.0.1/32",
      CALLBACK_TIMEOUT_MS: "3000",
      LOG_LEVEL: "info",
      LOG_PRETTY: "false",
    };
    const admin = async (args: string[]) => {
      const r = await runCli(args, env, 120_000);
      if (r.code !== 0) throw new Error(`stablegate ${args.join(" ")}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    };
    const org = await admin(["org", "create", "--name", "Chaos", "--chain", CHAIN_KEY]);
    receiver.setSecret(org.webhookSecret ?? org.webhook_secret);
    const treasury = getAddress(
      `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(20))).toString("hex")}`,
    );
    const id = String(org.id);
    // Independent commands, each its own process: at once.
    const [key, , , , w, orgWallet] = await Promise.all([
      admin(["key", "create", "--org", id]),
      admin([
        "client",
        "create",
        "--org",
        id,
        "--name",
        "chaos",
        "--origin",
        "https://shop.example",
      ]),
      admin(["org", "set-treasury", id, treasury]),
      admin(["org", "set-fee", id, String(s.feeBps)]),
      admin(["wallets"]),
      admin(["org", "wallet", id]),
    ]);
    const apiKey = key.api_key as string;
    const hot = orgWallet.hot_wallet_address as Address;
    await chain.setBalance(w.gas_wallet, parseEther("10000"));
    await chain.setBalance(hot, parseEther("100"));
    return {
      db,
      chain,
      proxy,
      receiver,
      env,
      wallets: { gas: w.gas_wallet as Address, hot },
      apiKey,
    };
  });

  const cluster = await phase("start three gateways", () =>
    startCluster({ ...env, RPC_URLS_ARB: proxy.url }, ["all", "all", "worker"], dir, addCleanup),
  );
  // As an operator does: the hot wallet's tokens are sent once the gateway follows the chain, so
  // the watcher sees the deposit and the ledger records it (docs/ledger.md).
  await phase("fund the hot wallet", async () => {
    const deadline = Date.now() + 120_000;
    while (
      (await db.query("select 1 from chain_blocks where chain_id = $1", [CHAIN_KEY])).length === 0
    ) {
      if (Date.now() > deadline) throw new Error("no gateway started following the chain");
      await setTimeout(250);
    }
    await chain.mint(wallets.hot, parseUnits(String(20 * s.payouts + 100), DECIMALS));
  });
  const api = createApiClient(cluster, apiKey, random);
  const intents: PlannedIntent[] = [];
  const payouts = planPayouts(s.payouts, random);
  let outage: Promise<OutageRecord> | undefined;
  let reorg: Awaited<ReturnType<typeof reorgBeforeConfirmation>> | undefined;

  const killer = startKiller(cluster, {
    everyMs: s.killEverySeconds * 1_000,
    max: s.maxKills,
    random,
  });
  await phase("load: intents, payments, payouts, outage, reorg, late payments", async () => {
    const payoutsDone = runPayouts(api, payouts, {
      concurrency: PAYOUT_CONCURRENCY,
      killsSoFar: () => cluster.kills.length,
      killing: () => killer.running,
    });
    const plan = planScenarios(s.intents, random);
    let next = 0;
    const lane = async (laneNo: number) => {
      for (let n = next++; n < plan.length; n = next++) {
        const scenario = plan[n] as (typeof plan)[number];
        const intent = await createIntent(api, n, scenario, receiver.url, random);
        intents.push(intent);
        if (scenario !== "late")
          await pay(
            intent,
            chain.payers[laneNo % PAYERS] as Payer,
            paymentsFor(scenario, intent.amount),
          );
        if (outage === undefined && intents.length >= plan.length * 0.4) {
          log(`RPC outage of ${s.outageSeconds} s`);
          outage = rpcOutage(proxy, db, s.outageSeconds * 1_000);
        }
      }
    };
    await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, (_, i) => lane(i)));
    log(`${intents.length} intents created`);

    // The reorg reverts a block: every payment sent so far must be mined before it. Its intents
    // are made after that wait, so their deadlines are well ahead of the reorg.
    await waitMined(chain, intents, 300_000);
    const remined = await createIntent(api, plan.length, "reorg_remined", receiver.url, random);
    const dropped = await createIntent(api, plan.length + 1, "reorg_dropped", receiver.url, random);
    intents.push(remined, dropped);
    reorg = await reorgBeforeConfirmation(chain, db, remined, dropped, BLOCK_TIME_SECONDS);
    log(`reorg: block ${reorg.droppedBlock.number} reverted, one payment re-mined`);

    await payLate(
      chain,
      intents.filter((i) => i.scenario === "late"),
      chain.payers,
    );
    await waitMined(chain, intents, 120_000);
    await payoutsDone;
    await outage;
  });
  // The short form's kills may not all have happened during the load: they do while it settles.
  if (cluster.kills.length >= s.maxKills || !Number.isFinite(s.maxKills)) await killer.stop();
  const settleMs = await phase("wait for quiescence", async () => {
    const ms = await waitQuiescent(db, receiver, s.quiescenceTimeoutSeconds * 1_000, log);
    await killer.stop();
    // A kill during the wait may have come after the last check: look once more.
    return ms + (await waitQuiescent(db, receiver, s.quiescenceTimeoutSeconds * 1_000, log));
  });
  void settleMs;

  const { checks, report } = await phase("checks", async () => {
    const intentCheck = await checkIntents(db, intents, s.feeBps);
    const callbackCheck = await checkCallbacks(db, intents, receiver.deliveries);
    const chainCheck = await checkOnChain(db, chain, payouts, wallets);
    const reorgCheck = reorg ? await checkReorg(db, reorg) : undefined;
    const processCheck: CheckResult = {
      name: "gateways: no crash, every restart came back",
      ok: cluster.unexpectedExits.length === 0,
      problems: cluster.unexpectedExits,
    };
    const killsCheck: CheckResult = {
      name: "faults happened: kills, the RPC outage, the reorg",
      ok:
        cluster.kills.length >= Math.min(s.maxKills, 1) &&
        outage !== undefined &&
        reorg !== undefined,
      problems: [],
    };
    const reconcile = await runReconcile({ ...env, DATA_DIR: join(dir, "reconcile-data") });
    const reconcileCheck: CheckResult = {
      name: "stablegate reconcile",
      ok: reconcile.ok,
      problems: reconcile.ok ? [] : [reconcile.summary],
    };
    const o = await outage;
    return {
      checks: [
        intentCheck.result,
        callbackCheck.result,
        chainCheck.result,
        ...(reorgCheck ? [reorgCheck] : []),
        processCheck,
        killsCheck,
        reconcileCheck,
      ],
      report: {
        intents: intents.length,
        payouts: payouts.length,
        scenarios: intentCheck.tally,
        callbacks: callbackCheck,
        chain: chainCheck.tally,
        duplicates: chainCheck.duplicates,
        kills: cluster.kills,
        outage: o
          ? `${(o.ms / 1000).toFixed(1)} s; the chain's leader recorded: ${o.seenByGateway ?? "nothing"}`
          : "none",
        reorg: reorg
          ? `1 block (#${reorg.droppedBlock.number}) reverted with 2 payments seen, not confirmed`
          : "none",
        reconcile: reconcile.summary,
        apiRetries: `${api.retries.connection} after a lost connection, ${
          Object.entries(api.retries.status)
            .map(([k, v]) => `${v} after ${k}`)
            .join(", ") || "none after an error status"
        }`,
      },
    };
  });
  const ok = checks.every((c) => c.ok);
  keepDir = !ok;
  console.log(formatReport({ ...report, checks, phases, wallMs: Date.now() - started }));
  log(ok ? "PASS" : "FAIL");
  return ok;
}
