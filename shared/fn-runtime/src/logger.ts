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

export function createLogger(fn: string, level = process.env['LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ level, base: { fn }, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}

export type { Logger };
