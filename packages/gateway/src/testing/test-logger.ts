import { type Logger, pino } from "pino";

/**
 * The logger tests hand to what they start: silent unless TEST_LOG_LEVEL asks for more, so a
 * failing run can be repeated with the gateway's own log lines (TEST_LOG_LEVEL=debug).
 */
export function createTestLogger(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
}
