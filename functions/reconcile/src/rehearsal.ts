// The code-cache training run's rehearsal (ADR 0152): the training run cannot answer its event past the
// first API request, so what a cold start's first event runs next (the builder, the plan, the first
// status) is run here on a cluster like the one the training event names, and its compiled code goes
// into the image's cache.
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import { realBuilder } from './builder-port.js';
import { metadataHash } from './metadata-hash.js';
import { mayPruneBy, planChanges } from './plan.js';
import { describeStep } from './records.js';
import { computeStatus, statusChanged } from './status.js';

/** A typical first cluster: two instances, one user, one database (the cold-start benches add the same). */
export const REHEARSAL_CLUSTER: Postgresql = {
  apiVersion: 'acid.zalan.do/v1',
  kind: 'postgresql',
  metadata: { name: 'acid-training', namespace: 'default', uid: '00000000-0000-4000-8000-000000000000' },
  spec: {
    teamId: 'acid',
    numberOfInstances: 2,
    volume: { size: '1Gi' },
    postgresql: { version: '17' },
    users: { zalando: ['superuser', 'createdb'] },
    databases: { foo: 'zalando' },
  },
};

/**
 * What a first event does for a new cluster between its API requests: validate and build the rehearsal
 * cluster, plan against nothing live, describe the steps, compute the first status and compare it with
 * none. Pure; the results are dropped. Returns how many steps the plan has.
 */
export function rehearse(): number {
  const config = DEFAULT_OPERATOR_CONFIG;
  const cluster = REHEARSAL_CLUSTER;
  realBuilder.validate(cluster, config);
  const built = realBuilder.build({ cluster, config, existingSecrets: new Map(), newPassword: () => 'rehearsal', now: new Date(0) });
  const mayPrune = mayPruneBy(realBuilder.prunableKeys(cluster, config));
  const plan = planChanges(built.objects, [], { compareStatefulSet: realBuilder.compareStatefulSet }, mayPrune);
  plan.steps.forEach(describeStep);
  const status = computeStatus(
    { generation: 1, metadataHash: metadataHash(cluster.metadata), invalid: [], creating: true, podsPendingRotation: 0 },
    undefined,
    new Date(0),
  );
  statusChanged(undefined, status);
  return plan.steps.length;
}
