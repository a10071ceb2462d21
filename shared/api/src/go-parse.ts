// Parsers for the string forms upstream's ConfigMap decoder accepts (pkg/util/config/util.go):
// Go's strconv.ParseBool / ParseInt(base 0) / ParseUint(base 0), time.ParseDuration, comma lists,
// quote-aware "key:value" maps and namespaced names (pkg/spec/types.go). Each parser returns
// a value or throws an Error whose message completes the sentence "<key>: <value> …".
import type { NamespacedName } from './config.js';

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool. */
export function parseGoBool(value: string): boolean {
  if (GO_TRUE.has(value)) return true;
  if (GO_FALSE.has(value)) return false;
  throw new Error('is not a boolean (use true or false)');
}

/** Integer widths and signedness of the Go fields. */
export interface IntFormat {
  bits: 32 | 64;
  signed: boolean;
}

/** Go's strconv.ParseInt/ParseUint with base 0: 0x/0o/0b/leading-0 prefixes and `_` separators. */
export function parseGoInt(value: string, format: IntFormat): number {
  let rest = value;
  let negative = false;
  if (format.signed && (rest.startsWith('+') || rest.startsWith('-'))) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  const parsed = parseUnsignedDigits(rest);
  if (parsed === undefined) throw new Error(`is not ${format.signed ? 'an integer' : 'a non-negative integer'}`);
  const n = negative ? -parsed : parsed;
  const [min, max] = intRange(format);
  if (n < min || n > max) throw new Error(`is out of range (${min} to ${max})`);
  return Number(n);
}

function intRange(format: IntFormat): [bigint, bigint] {
  const bits = BigInt(format.bits);
  if (!format.signed) return [0n, (1n << bits) - 1n];
  return [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n];
}

const BASE_PREFIXES: ReadonlyArray<[RegExp, number, number]> = [
  [/^0[xX]/, 16, 2],
  [/^0[bB]/, 2, 2],
  [/^0[oO]/, 8, 2],
  [/^0(?=[0-9_])/, 8, 1],
];

function parseUnsignedDigits(text: string): bigint | undefined {
  let base = 10;
  let digits = text;
  for (const [prefix, b, len] of BASE_PREFIXES) {
    if (prefix.test(text)) {
      base = b;
      digits = text.slice(len);
      break;
    }
  }
  const prefixed = digits !== text;
  if (!underscoresOk(digits, prefixed)) return undefined;
  const clean = digits.replaceAll('_', '');
  if (clean === '' || ![...clean].every((ch) => digitValue(ch) < base)) return undefined;
  let n = 0n;
  for (const ch of clean) n = n * BigInt(base) + BigInt(digitValue(ch));
  return n;
}

// Go allows `_` only between digits, or right after a base prefix.
function underscoresOk(digits: string, prefixed: boolean): boolean {
  if (!digits.includes('_')) return true;
  if (digits.endsWith('_') || digits.includes('__')) return false;
  return prefixed || !digits.startsWith('_');
}

function digitValue(ch: string): number {
  const c = ch.toLowerCase();
  if (c >= '0' && c <= '9') return c.charCodeAt(0) - 48;
  if (c >= 'a' && c <= 'z') return c.charCodeAt(0) - 87;
  return 99;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6, // U+00B5 micro sign
  μs: 1e-6, // U+03BC Greek mu
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

const DURATION_PART = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]+)/;

/** Go's time.ParseDuration ("300ms", "-1.5h", "2h45m"), returned in seconds. */
export function parseGoDuration(value: string): number {
  const bad = (): Error => new Error('is not a duration (use a number with a unit, such as 30s, 10m or 1h30m)');
  let rest = value;
  let sign = 1;
  if (rest.startsWith('+') || rest.startsWith('-')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw bad();
  let total = 0;
  while (rest !== '') {
    const m = DURATION_PART.exec(rest);
    if (!m) throw bad();
    const [whole, int = '', frac = '', unit = ''] = m;
    const factor = Object.hasOwn(UNIT_SECONDS, unit) ? UNIT_SECONDS[unit] : undefined;
    if ((int === '' && frac === '') || factor === undefined) throw bad();
    total += Number(`${int || '0'}.${frac || '0'}`) * factor;
    rest = rest.slice(whole.length);
  }
  return sign * roundNanos(total) || 0; // never -0
}

// Go keeps whole nanoseconds; rounding also hides binary float noise (0.1+0.2).
function roundNanos(seconds: number): number {
  return Math.round(seconds * 1e9) / 1e9;
}

/** Seconds as a Go duration string that parseGoDuration reads back: 5400 -> "1h30m", 1.5 -> "1.5s". */
export function formatGoDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const sign = seconds < 0 ? '-' : '';
  let rest = Math.abs(seconds);
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  rest = roundNanos(rest - minutes * 60);
  const parts = [hours ? `${hours}h` : '', minutes ? `${minutes}m` : '', rest ? `${rest}s` : ''];
  return sign + parts.join('');
}

/** Upstream's list form: split on every comma, nothing trimmed ("a, b" -> ["a", " b"]). */
export function parseGoList(value: string): string[] {
  return value.split(',');
}

/**
 * Upstream's map form "k:v,k2:'v,2'": pairs split on commas outside single or double quotes,
 * each pair trimmed of spaces and tabs, then split on ':' into exactly two parts. Quotes are kept.
 */
export function parseGoMap(value: string): Record<string, string> {
  const entries = splitMapPairs(value).map((pair): [string, string] => {
    const parts = pair.split(':');
    if (parts.length !== 2) throw new Error(`has an invalid map item ${JSON.stringify(pair)} (use key:value pairs separated by commas)`);
    return [parts[0] ?? '', parts[1] ?? ''];
  });
  // fromEntries defines own properties, so a key like "__proto__" stays data.
  return Object.fromEntries(entries);
}

/** Splits on commas outside quotes; throws on an unmatched quote (1-based position). */
export function splitMapPairs(value: string): string[] {
  const pairs: string[] = [];
  let quote: '"' | "'" | undefined;
  let quoteAt = 0;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if ((ch === '"' || ch === "'") && (quote === undefined || quote === ch)) {
      quoteAt = quote === undefined ? i : 0;
      quote = quote === undefined ? ch : undefined;
    } else if (ch === ',' && quote === undefined) {
      pairs.push(trimBlanks(value.slice(start, i)));
      start = i + 1;
    }
  }
  if (quote !== undefined) throw new Error(`has an unmatched quote starting at position ${quoteAt + 1}`);
  pairs.push(trimBlanks(value.slice(start)));
  return pairs;
}

function trimBlanks(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/**
 * "namespace/name" or "name" (upstream spec.NamespacedName.Decode). A missing namespace
 * becomes `defaultNamespace` ('' = the operator's namespace, filled in later).
 */
export function parseNamespacedName(value: string, defaultNamespace = ''): NamespacedName {
  const slash = value.indexOf('/');
  const namespace = slash < 0 ? '' : value.slice(0, slash);
  const name = slash < 0 ? value : value.slice(slash + 1).replace(/^\/+/, '');
  if (name === '') throw new Error('is not a namespaced name (use name or namespace/name)');
  return { namespace: namespace || defaultNamespace, name };
}

/** The inverse of parseNamespacedName. */
export function formatNamespacedName(value: NamespacedName): string {
  return value.namespace ? `${value.namespace}/${value.name}` : value.name;
}
