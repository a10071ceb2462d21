// Password hashes in the formats Postgres stores in pg_authid.rolpassword, computed here so that no
// plain password is ever part of a SQL statement or a log line.
// SCRAM-SHA-256: RFC 5802 / RFC 7677 with Postgres' storage format
//   SCRAM-SHA-256$<iterations>:<salt base64>$<StoredKey base64>:<ServerKey base64>
// md5: "md5" + md5(password || username) in hex.
// Salt length and iteration count as upstream pkg/util/util.go and Postgres' defaults (16, 4096).
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { saslprep } from './saslprep.js';

export type PasswordEncryption = 'scram-sha-256' | 'md5';

export const SCRAM_ITERATIONS = 4096;
export const SCRAM_SALT_BYTES = 16;

/** Random bytes for salts; injected so that plans are reproducible in tests. */
export type RandomBytes = (size: number) => Uint8Array;

/** The method named by the cluster's `password_encryption` parameter (scram-sha-256 unless "md5"). */
export function passwordEncryptionOf(parameters: Readonly<Record<string, string>> | undefined): PasswordEncryption {
  return parameters?.['password_encryption']?.trim().toLowerCase() === 'md5' ? 'md5' : 'scram-sha-256';
}

export function scramSha256(password: string, salt: Uint8Array, iterations = SCRAM_ITERATIONS): string {
  const { storedKey, serverKey } = scramKeys(password, salt, iterations);
  const keys = `${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
  return `SCRAM-SHA-256$${iterations}:${Buffer.from(salt).toString('base64')}$${keys}`;
}

export function md5Password(password: string, username: string): string {
  return `md5${createHash('md5')
    .update(password + username, 'utf8')
    .digest('hex')}`;
}

/** The hash to store for a role, in the requested format. */
export function hashPassword(password: string, username: string, method: PasswordEncryption, random: RandomBytes): string {
  if (method === 'md5') return md5Password(password, username);
  return scramSha256(password, random(SCRAM_SALT_BYTES));
}

/**
 * True when `stored` (rolpassword) is a hash of `password` in the requested format, so a sync
 * that finds it needs no ALTER ROLE. A hash in the other format does not match: switching
 * password_encryption re-hashes every managed password once.
 */
export function storedPasswordMatches(stored: string | null, password: string, username: string, method: PasswordEncryption): boolean {
  if (stored === null || stored === '') return false;
  if (method === 'md5') return stored.startsWith('md5') && safeEqual(stored, md5Password(password, username));
  const parsed = parseScram(stored);
  if (parsed === undefined) return false;
  const { storedKey, serverKey } = scramKeys(password, parsed.salt, parsed.iterations);
  return safeEqual(storedKey, parsed.storedKey) && safeEqual(serverKey, parsed.serverKey);
}

interface ScramSecret {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export function parseScram(stored: string): ScramSecret | undefined {
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(stored);
  if (m === null) return undefined;
  const iterations = Number(m[1]);
  if (!Number.isSafeInteger(iterations) || iterations < 1) return undefined;
  return {
    iterations,
    salt: Buffer.from(m[2] ?? '', 'base64'),
    storedKey: Buffer.from(m[3] ?? '', 'base64'),
    serverKey: Buffer.from(m[4] ?? '', 'base64'),
  };
}

function scramKeys(password: string, salt: Uint8Array, iterations: number): { storedKey: Buffer; serverKey: Buffer } {
  const salted = pbkdf2Sync(Buffer.from(saslprep(password), 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  return { storedKey, serverKey };
}

function safeEqual(a: string | Buffer, b: string | Buffer): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A statement-safe stand-in for a hash in logs and descriptions. */
export const REDACTED = "'<redacted>'";
