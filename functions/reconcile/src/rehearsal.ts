// The code-cache training run's rehearsal (ADR 0152): the training run cannot answer its event past the
// first API request, so the builder, which a cold start's first event runs next, is run here on a
// cluster like the one the training event names, and its compiled code goes into the image's cache.
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import { realBuilder } from './builder-port.js';

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

/** Validates and builds the rehearsal cluster; pure, its result is dropped. Returns how many objects it built. */
export function rehearse(): number {
  const config = DEFAULT_OPERATOR_CONFIG;
  realBuilder.validate(REHEARSAL_CLUSTER, config);
  const built = realBuilder.build({
    cluster: REHEARSAL_CLUSTER,
    config,
    existingSecrets: new Map(),
    newPassword: () => 'rehearsal',
    now: new Date(0),
  });
  return built.objects.length;
}
