import { type Logger, pino } from "pino";
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

export function createLogger(options: { level: string; pretty?: boolean | undefined }): Logger {
  const usePretty = options.pretty ?? process.stdout.isTTY === true;
  const base = { level: options.level, redact: REDACT };
  return usePretty ? pino(base, pretty({ colorize: true, ignore: "pid,hostname" })) : pino(base);
}
