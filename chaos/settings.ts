import { parseArgs } from "node:util";

export interface ChaosSettings {
  intents: number;
  payouts: number;
  /** Seconds between two kills of a random gateway. */
  killEverySeconds: number;
  /** At most this many kills (the short form makes 3). */
  maxKills: number;
  /** PAYMENT_TTL_SECONDS of the gateways: how long each intent stays payable. */
  ttlSeconds: number;
  outageSeconds: number;
  /** Share of callback events whose first attempt the receiver fails. */
  callbackFailShare: number;
  feeBps: number;
  seed: number;
  databaseUrl: string;
  keepDatabase: boolean;
  quiescenceTimeoutSeconds: number;
  short: boolean;
}

const USAGE = `npm run chaos -- [--short] [--intents N] [--payouts N] [--kill-every S] [--kills N]
  [--ttl S] [--outage S] [--callback-fail-share F] [--seed N] [--keep-db] [--timeout S]

PostgreSQL from CHAOS_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test
(a database of its own is created on that server and dropped at the end).`;

export function readSettings(argv = process.argv.slice(2)): ChaosSettings {
  const { values } = parseArgs({
    args: argv,
    options: {
      short: { type: "boolean", default: false },
      intents: { type: "string" },
      payouts: { type: "string" },
      "kill-every": { type: "string" },
      kills: { type: "string" },
      ttl: { type: "string" },
      outage: { type: "string" },
      "callback-fail-share": { type: "string" },
      seed: { type: "string" },
      "keep-db": { type: "boolean", default: false },
      timeout: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const short = values.short === true;
  const num = (name: string, value: string | undefined, fallback: number, min = 0) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min)
      throw new Error(`--${name}: a number of at least ${min}, got ${value}\n${USAGE}`);
    return n;
  };
  return {
    short,
    intents: num("intents", values.intents, short ? 100 : 1_000, 10),
    payouts: num("payouts", values.payouts, short ? 20 : 200, 0),
    killEverySeconds: num("kill-every", values["kill-every"], short ? 5 : 6, 1),
    maxKills: num("kills", values.kills, short ? 3 : Number.POSITIVE_INFINITY, 0),
    ttlSeconds: num("ttl", values.ttl, short ? 30 : 60, 10),
    outageSeconds: num("outage", values.outage, 10, 1),
    callbackFailShare: num("callback-fail-share", values["callback-fail-share"], 0.3, 0),
    feeBps: 100,
    seed: num("seed", values.seed, Math.floor(Math.random() * 2 ** 31)),
    databaseUrl:
      process.env.CHAOS_DATABASE_URL ??
      process.env.DATABASE_URL ??
      "postgres://postgres@127.0.0.1:5432/test",
    keepDatabase: values["keep-db"] === true,
    quiescenceTimeoutSeconds: num("timeout", values.timeout, short ? 300 : 1_200, 10),
  };
}

/** A small seeded generator (mulberry32): the same --seed makes the same plan. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
