import { randomInt } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * A password from the crypto RNG: 64 alphanumeric characters like upstream's generated ones
 * (~381 bits), safe in connection strings, env vars and pgbouncer's userlist without escaping.
 */
export function randomPassword(length = 64): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}
