import { type DestinationStream, type Logger, pino } from "pino";
import pretty from "pino-pretty";

// API keys and seeds must never reach a log line, even when an error object carries them.
const REDACT = [
  "apiKey",
  "secret",
  "seed",
  "seedPhrase",
  "privateKey",
  'headers["x-studio-api-key"]',
  "*.apiKey",
  "*.secret",
];

// A database error carries the statement's values: PGlite adds `params` (and `queryOptions`),
// PostgreSQL's `detail` quotes them ("Key (id)=(...) already exists", "Failing row contains
// (...)"). Merchants' data and secrets stay out of the log: only the message, code and SQL text.
const VALUE_FIELDS = ["params", "parameters", "queryOptions", "detail"];

/** pino's error serializer, without the fields that carry a statement's values. */
export function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  const strip = (o: Record<string, unknown>, depth: number) => {
    for (const f of VALUE_FIELDS) delete o[f];
    if (depth > 0)
      for (const v of Object.values(o))
        if (typeof v === "object" && v !== null) strip(v as Record<string, unknown>, depth - 1);
  };
  strip(out, 3);
  return out;
}

export function createLogger(options: {
  level: string;
  pretty?: boolean | undefined;
  /** Where lines go (stdout unless given); tests read them. */
  destination?: DestinationStream;
}): Logger {
  const usePretty = options.pretty ?? process.stdout.isTTY === true;
  const base = { level: options.level, redact: REDACT, serializers: { err: serializeError } };
  if (options.destination) return pino(base, options.destination);
  return usePretty ? pino(base, pretty({ colorize: true, ignore: "pid,hostname" })) : pino(base);
}
