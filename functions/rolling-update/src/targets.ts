// Which clusters an event concerns. Events are hints: the answer only says where to look.
import type { CloudEventV1 } from 'cloudevents';
import type { OperatorConfig } from '@pgfn/api';
import { clusterRefOf } from '@pgfn/fn-runtime';
import { VOLUMES } from './conditions.js';

export interface ClusterRef {
  readonly namespace: string;
  readonly name: string;
  /** Came from a pod or StatefulSet event: worth a full look only if some pod has work pending. */
  readonly fromPod?: boolean;
}

export const REQUIRED_TYPE = 'dev.pgfn.rollingupdate.required';
const PING_TYPE = 'dev.knative.sources.ping';
const RESOURCE_PREFIX = 'dev.knative.apiserver.resource.';
const UPDATE_TYPE = `${RESOURCE_PREFIX}update`;

interface ObjectData {
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly generation?: number;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly status?: { readonly conditions?: readonly { readonly type?: string; readonly observedGeneration?: number }[] };
}

/**
 * A postgresql this function already looked at in this generation: every look writes VolumesResized
 * with the generation it saw. Status writes (reconcile's, our own) do not move the generation, so the
 * update events they cause need no look; an annotation-only edit waits for the periodic check.
 */
function lookedAt(data: ObjectData): boolean {
  const generation = data.metadata?.generation;
  return generation !== undefined && data.status?.conditions?.find((c) => c.type === VOLUMES)?.observedGeneration === generation;
}

/**
 * The clusters to look at, `all` for the periodic check, or none for an event that concerns no cluster
 * (or names one by something that cannot be a Kubernetes name: events are input).
 */
export function clustersOf(
  event: CloudEventV1<unknown>,
  config: Pick<OperatorConfig, 'clusterNameLabel' | 'clusterLabels'>,
): ClusterRef[] | 'all' {
  if (event.type === PING_TYPE) return 'all';
  const named = namedClusters(event, config);
  return named.filter((r) => clusterRefOf(r.namespace, r.name) !== undefined);
}

function namedClusters(event: CloudEventV1<unknown>, config: Pick<OperatorConfig, 'clusterNameLabel' | 'clusterLabels'>): ClusterRef[] {
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as ObjectData & Partial<ClusterRef>;
  if (event.type === REQUIRED_TYPE)
    return typeof data.namespace === 'string' && typeof data.name === 'string' ? [{ namespace: data.namespace, name: data.name }] : [];
  if (!event.type.startsWith(RESOURCE_PREFIX)) return [];
  const namespace = data.metadata?.namespace;
  const extension = event['kind'];
  const kind = typeof extension === 'string' ? extension : (data.kind ?? '');
  if (namespace === undefined) return [];
  if (kind === 'postgresql') {
    if (data.metadata?.name === undefined || (event.type === UPDATE_TYPE && lookedAt(data))) return [];
    return [{ namespace, name: data.metadata.name }];
  }
  const labels = data.metadata?.labels ?? {};
  // Spilo pods (and their StatefulSet) carry the cluster labels; pooler pods do not carry all of them.
  const spilo = Object.entries(config.clusterLabels).every(([k, v]) => labels[k] === v);
  const name = labels[config.clusterNameLabel];
  return spilo && name !== undefined ? [{ namespace, name, fromPod: true }] : [];
}
