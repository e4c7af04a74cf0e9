import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger } from "pino";

/**
 * Field names that carry secret-grade values anywhere in a logged object. pino removes them before serialising, so
 * a careless `log.info({ job })` still cannot write a secret.
 */
export const REDACTED_PATHS = [
  "stdin", "stdinBase64", "files", "env", "secrets", "mnemonic", "apiKey", "authorization", "token",
  "*.stdin", "*.stdinBase64", "*.files", "*.env", "*.secrets", "*.mnemonic", "*.apiKey", "*.token",
  "*.*.stdin", "*.*.stdinBase64", "*.*.files", "*.*.env", "*.*.secrets",
  "req.headers.authorization", 'req.headers["x-api-key"]', "headers.authorization", 'headers["x-api-key"]',
];

export function createLogger(options: { name: string; level: string } & Pick<LoggerOptions, "base">): Logger {
  return pino({
    name: options.name,
    level: options.level,
    base: options.base ?? { pid: process.pid },
    redact: { paths: REDACTED_PATHS, remove: true },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
