import { pino, type Logger } from 'pino';

/** Paths whose values never reach a log line (secret data, passwords, tokens). */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'data',
  '*.data',
  'stringData',
  '*.stringData',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
];

/** JSON lines to stdout, or appended to `file` (tests that search a run's logs for secrets). */
export function createLogger(fn: string, level = process.env['LOG_LEVEL'] ?? 'info', file?: string): Logger {
  const options = { level, base: { fn }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return file === undefined ? pino(options) : pino(options, pino.destination({ dest: file, sync: true, append: true }));
}

export type { Logger };
