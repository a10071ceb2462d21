// SQL quoting. Every name and value the diff writes into SQL goes through these two functions, so
// a hostile name can at worst name an object that does not exist; it can never end a statement.

/** Longest identifier Postgres keeps (NAMEDATALEN - 1); longer ones are silently truncated. */
export const MAX_IDENTIFIER_BYTES = 63;

/** A double-quoted identifier, embedded quotes doubled. Rejects what Postgres cannot store. */
export function quoteIdent(name: string): string {
  assertStorable(name, 'identifier');
  if (name === '') throw new Error('an identifier cannot be empty');
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A string literal. Standard-conforming strings are on since PostgreSQL 9.1, so doubling single
 * quotes is enough; a value with a backslash gets the E'' form so it means the same either way.
 */
export function quoteLiteral(value: string): string {
  assertStorable(value, 'literal');
  const body = value.replaceAll("'", "''");
  return value.includes('\\') ? `E'${body.replaceAll('\\', '\\\\')}'` : `'${body}'`;
}

/** Byte length of a name as Postgres counts it (UTF-8). */
export function identifierBytes(name: string): number {
  return Buffer.byteLength(name, 'utf8');
}

/** Why a name cannot be a Postgres identifier as is, or undefined when it can. */
export function identifierProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.includes('\0')) return 'contains a NUL character';
  if (!isWellFormed(name)) return 'is not valid Unicode';
  const bytes = identifierBytes(name);
  if (bytes > MAX_IDENTIFIER_BYTES) {
    return `is ${bytes} bytes long; Postgres keeps at most ${MAX_IDENTIFIER_BYTES} and would silently cut it`;
  }
  return undefined;
}

function assertStorable(text: string, what: string): void {
  if (text.includes('\0')) throw new Error(`a SQL ${what} cannot contain a NUL character`);
  if (!isWellFormed(text)) throw new Error(`a SQL ${what} must be valid Unicode (lone surrogate found)`);
}

/** String.prototype.isWellFormed arrived in Node 20; spelled out so older typings compile. */
function isWellFormed(text: string): boolean {
  return !/\p{Cs}/u.test(text);
}
