import { type Kysely, sql } from "kysely";
import type { Logger } from "pino";
import { Gauge } from "prom-client";
import { PAYMENT_STATUSES } from "../payments/lifecycle/decide.ts";
import type { Database } from "../platform/database/schema.ts";
import type { Metrics } from "./metrics.ts";
import { readCallbacksDue, readOutgoingTxs } from "./stored-state.ts";

// The gauges of stored state, read by prom-client's collect() callbacks when /metrics is scraped:
// a few queries on partial indexes (callbacks due, open transactions) or small tables (the
// chain block window), and one count of intents by status. They describe the database, so every
// process that shares it reports the same values: aggregate them with max(), not sum().

export interface DatabaseGaugeOptions {
  db: Kysely<Database>;
  log: Logger;
  /** TX_REPLACE_AFTER_BLOCKS: a transaction this many blocks past its broadcast counts as stuck. */
  replaceAfterBlocks: number;
  /** The readiness check of /readyz. */
  ready: () => Promise<boolean>;
  now?: () => Date;
}

export function registerDatabaseGauges(metrics: Metrics, options: DatabaseGaugeOptions): void {
  const { db, log } = options;
  const now = options.now ?? (() => new Date());
  const registers = [metrics.registry];

  /**
   * One query shared by the gauges that read it during one scrape (prom-client collects them
   * concurrently). A failed query leaves those gauges empty for this scrape and logs why; the
   * scrape itself still answers, with stablegate_ready saying whether the database is there.
   */
  const perScrape = <T>(what: string, query: () => Promise<T>) => {
    let pending: Promise<T | undefined> | undefined;
    return () => {
      pending ??= query()
        .catch((err: unknown) => {
          log.warn({ err }, `metrics: reading ${what} failed`);
          return undefined;
        })
        .finally(() => setImmediate(() => (pending = undefined)));
      return pending;
    };
  };

  /**
   * A gauge with one label, one sample per row of `read` (`value` undefined skips the row);
   * `zeros` are set to 0 first, so they show even with no row.
   */
  const rowGauge = <R>(
    g: { name: string; help: string; label: string; zeros?: readonly string[] },
    read: () => Promise<R[] | undefined>,
    labelOf: (row: R) => string,
    value: (row: R) => number | undefined,
  ) =>
    new Gauge({
      name: g.name,
      help: g.help,
      labelNames: [g.label],
      registers,
      async collect() {
        const rows = await read();
        this.reset();
        if (!rows) return;
        for (const zero of g.zeros ?? []) this.labels(zero).set(0);
        for (const row of rows) {
          const v = value(row);
          if (v !== undefined) this.labels(labelOf(row)).set(v);
        }
      },
    });

  new Gauge({
    name: "stablegate_ready",
    help: "1 when the gateway can take traffic (the database answers), as /readyz says; else 0.",
    registers,
    async collect() {
      this.set((await options.ready()) ? 1 : 0);
    },
  });

  const intents = perScrape("intents", () =>
    db
      .selectFrom("payment_intents")
      .select(["status", (eb) => eb.fn.countAll<string>().as("n")])
      .groupBy("status")
      .execute(),
  );
  rowGauge(
    {
      name: "stablegate_payment_intents",
      help: "Payment intents by status (all organisations).",
      label: "status",
      zeros: PAYMENT_STATUSES,
    },
    intents,
    (r) => r.status,
    (r) => Number(r.n),
  );

  const blocks = perScrape("the processed blocks", () =>
    sql<{ chain_id: string; number: string; timestamp: string }>`
      select distinct on (chain_id) chain_id, number, timestamp
      from chain_blocks order by chain_id, number desc`
      .execute(db)
      .then((r) => r.rows),
  );
  const byChain = (r: { chain_id: string }) => r.chain_id;
  rowGauge(
    {
      name: "stablegate_chain_processed_block",
      help: "The highest block the gateway has processed and stored, per chain.",
      label: "chain",
    },
    blocks,
    byChain,
    (r) => Number(r.number),
  );
  rowGauge(
    {
      name: "stablegate_chain_processed_block_timestamp_seconds",
      help: "The chain's own timestamp of the highest processed block (Unix seconds): time() minus this is how far behind the gateway is.",
      label: "chain",
    },
    blocks,
    byChain,
    (r) => Number(r.timestamp),
  );
  rowGauge(
    {
      name: "stablegate_chain_lag_blocks",
      help: "The node's head minus the highest processed block, per chain this process follows.",
      label: "chain",
    },
    blocks,
    byChain,
    (r) => {
      const head = metrics.heads.get(r.chain_id);
      if (head === undefined) return undefined;
      const lag = head - BigInt(r.number);
      return Number(lag > 0n ? lag : 0n);
    },
  );

  const due = perScrape("the callbacks due", () => readCallbacksDue(db, now()));
  new Gauge({
    name: "stablegate_callbacks_due",
    help: "Callback events waiting for delivery whose next attempt is due now.",
    registers,
    async collect() {
      const d = await due();
      if (d) this.set(d.count);
    },
  });
  new Gauge({
    name: "stablegate_callbacks_oldest_due_age_seconds",
    help: "How long the oldest due callback event has been due (0 when none is due).",
    registers,
    async collect() {
      const d = await due();
      if (d) this.set(d.ageSeconds);
    },
  });

  const txs = perScrape("the outgoing transactions", () =>
    readOutgoingTxs(db, options.replaceAfterBlocks),
  );
  rowGauge(
    {
      name: "stablegate_outgoing_txs_pending",
      help: "Outgoing transactions signed or broadcast and not yet mined, per chain.",
      label: "chain",
    },
    txs,
    byChain,
    (r) => r.pending,
  );
  rowGauge(
    {
      name: "stablegate_outgoing_txs_stuck",
      help: "Outgoing transactions stuck, per chain: broadcast and not mined TX_REPLACE_AFTER_BLOCKS blocks after their (last) broadcast (counted against the processed block), or refused by the node (no funds, underpriced) and not sent.",
      label: "chain",
    },
    txs,
    byChain,
    (r) => r.stuck,
  );
}
