import { createHash } from 'node:crypto';
import { canonicalJson } from '@pgfn/builder';

/**
 * Hash of a cluster's labels and annotations, recorded in its status. Both feed the build (inherited
 * labels and annotations) without moving metadata.generation, so together with observedGeneration
 * it tells whether an update event carries anything reconcile has not seen yet.
 */
export function metadataHash(metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined): string {
  return createHash('sha256')
    .update(canonicalJson({ l: metadata?.labels ?? {}, a: metadata?.annotations ?? {} }))
    .digest('hex')
    .slice(0, 16);
}
