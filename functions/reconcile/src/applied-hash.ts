import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { canonicalJson } from '@pgfn/builder';

/**
 * The annotation holding a hash of the object as we last applied it. Comparing it with the hash of
 * the freshly built object tells "unchanged" without comparing live fields the API server defaults,
 * so a no-op resync writes nothing.
 */
export const APPLIED_HASH_ANNOTATION = 'pgfn.dev/applied-hash';

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
