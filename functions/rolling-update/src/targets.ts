// Which clusters an event concerns. Events are hints: the answer only says where to look.
import type { CloudEventV1 } from 'cloudevents';
import type { OperatorConfig } from '@pgfn/api';
import { clusterRefOf } from '@pgfn/fn-runtime';

export interface ClusterRef {
  readonly namespace: string;
  readonly name: string;
  /** Came from a pod or StatefulSet event: worth a full look only if some pod has work pending. */
  readonly fromPod?: boolean;
}

export const REQUIRED_TYPE = 'dev.pgfn.rollingupdate.required';
const PING_TYPE = 'dev.knative.sources.ping';
const RESOURCE_PREFIX = 'dev.knative.apiserver.resource.';

interface ObjectData {
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
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
  if (kind === 'postgresql') return data.metadata?.name === undefined ? [] : [{ namespace, name: data.metadata.name }];
  const labels = data.metadata?.labels ?? {};
  // Spilo pods (and their StatefulSet) carry the cluster labels; pooler pods do not carry all of them.
  const spilo = Object.entries(config.clusterLabels).every(([k, v]) => labels[k] === v);
  const name = labels[config.clusterNameLabel];
  return spilo && name !== undefined ? [{ namespace, name, fromPod: true }] : [];
}
