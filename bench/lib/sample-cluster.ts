// The cluster the cold-start benches add: the one reconcile's code-cache rehearsal builds (ADR 0152),
// two instances, one user, one database (what a first event builds).
import { REHEARSAL_CLUSTER } from '../../functions/reconcile/src/rehearsal.js';

/** A postgresql manifest named `name` in `namespace`. */
export function sampleCluster(namespace: string, name: string): Record<string, unknown> {
  return {
    apiVersion: REHEARSAL_CLUSTER.apiVersion,
    kind: REHEARSAL_CLUSTER.kind,
    metadata: { name, namespace },
    spec: structuredClone(REHEARSAL_CLUSTER.spec),
  };
}
