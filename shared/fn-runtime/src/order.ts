/**
 * Orders strings by UTF-16 code units, as `<` does. Functions sort with this rather than
 * `localeCompare`, whose first call loads ICU's collation data: about 10 ms of a cold start's CPU
 * (reconcile's first status write, ADR 0153). For Kubernetes names (lowercase letters, digits, `-`, `.`)
 * both give the same order.
 */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
