// One CloudEvent -> at most one condition write and one Event. The event is a hint: the cluster is
// re-read, and a cluster already greeted is not greeted again (the condition write is a no-op).
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND, type Postgresql } from '@pgfn/api';
import { setCondition, type EventHandler, type Kit } from '@pgfn/fn-runtime';
import { greeting, targetOf } from './decide.js';

export type HandlerDeps = Pick<Kit, 'kube' | 'now' | 'recordEvent'>;

export function createHandler(deps: HandlerDeps): EventHandler {
  return async (event, { log }) => {
    const target = targetOf(event);
    if (target.scope === 'ignore') return 'ignored';
    const cluster = await deps.kube.get<Postgresql & KubernetesObject>({
      apiVersion: API_VERSION,
      kind: POSTGRESQL_KIND,
      namespace: target.namespace,
      name: target.name,
    });
    if (cluster === undefined) return 'ignored';
    const condition = greeting(cluster.spec?.teamId);
    const changed = await setCondition({ kube: deps.kube, object: cluster, condition, now: deps.now() });
    if (changed) await deps.recordEvent({ about: cluster, type: 'Normal', reason: condition.reason, message: condition.message });
    log.info({ namespace: target.namespace, name: target.name, changed }, 'greeted');
    return 'ok';
  };
}
