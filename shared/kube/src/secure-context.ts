// One TLS SecureContext for as long as the credentials stay the same. Given `ca`, `cert` and `key`,
// each new connection would otherwise parse them into a context of its own, the largest CPU cost of
// a cold function's first requests, which open a connection per concurrent request (ADR 0118).
import type { RequestOptions } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';

/** The options a SecureContext is made of (the rest, such as servername, belong to the connection). */
const MATERIAL = ['ca', 'cert', 'key', 'pfx', 'passphrase'] as const;

type Material = Pick<RequestOptions, (typeof MATERIAL)[number]>;

export class SecureContexts {
  private last: { material: Material; context: SecureContext } | undefined;

  /** The context for these options: the last one while its material is unchanged (files re-read to the same bytes), else a new one. */
  contextFor(options: RequestOptions): SecureContext {
    const material: Material = {};
    for (const key of MATERIAL) if (options[key] !== undefined) (material as Record<string, unknown>)[key] = options[key];
    if (this.last !== undefined && MATERIAL.every((k) => same(this.last?.material[k], material[k]))) return this.last.context;
    const context = createSecureContext(material);
    this.last = { material, context };
    return context;
  }
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) return JSON.stringify(a) === JSON.stringify(b);
  return false;
}
