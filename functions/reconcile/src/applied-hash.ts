import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * The annotation holding a hash of the object as we last applied it. Comparing it with the hash of
 * the freshly built object tells "unchanged" without comparing live fields the API server defaults,
 * so a no-op resync writes nothing.
 */
export const APPLIED_HASH_ANNOTATION = 'pgfn.dev/applied-hash';

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function objectHash(obj: KubernetesObject): string {
  return createHash('sha256').update(canonicalJson(obj)).digest('hex').slice(0, 16);
}

/** The desired object with its own hash stamped on (the hash excludes the annotation itself). */
export function withAppliedHash<T extends KubernetesObject>(obj: T): T {
  const hash = objectHash(obj);
  return { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, [APPLIED_HASH_ANNOTATION]: hash } } };
}

export function appliedHashOf(obj: KubernetesObject | undefined): string | undefined {
  return obj?.metadata?.annotations?.[APPLIED_HASH_ANNOTATION];
}
