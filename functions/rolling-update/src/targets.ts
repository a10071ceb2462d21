// Which clusters an event concerns. Events are hints: the answer only says where to look.
import type { CloudEventV1 } from 'cloudevents';
import type { OperatorConfig } from '@pgfn/api';
import { clusterRefOf } from '@pgfn/fn-runtime';
import { PATRONI_CONFIG, ROLLING_UPDATE, VOLUMES } from './conditions.js';
import { nodeLeaving, type NodeFacts } from './node-leaving.js';

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
  readonly status?: {
    readonly observedGeneration?: number;
    readonly conditions?: readonly { readonly type?: string; readonly status?: string; readonly observedGeneration?: number }[];
  };
}

/**
 * A postgresql at rest that this function already looked at in this generation: every look writes
 * VolumesResized with the generation it saw. Status writes (reconcile's, our own) do not move the
 * generation, so the update events they cause need no look; an annotation-only edit waits for the
 * periodic check. While work is unfinished every event counts: the look that finds the last pod
 * rotated closes the rollout, the one after Patroni applied a patch closes PatroniConfigApplied, and
 * no pod is left marked to draw either.
 */
function lookedAt(data: ObjectData): boolean {
  const generation = data.metadata?.generation;
  const conditions = data.status?.conditions ?? [];
  const unfinished = conditions.some(
    (c) => (c.type === ROLLING_UPDATE && c.status === 'True') || (c.type === PATRONI_CONFIG && c.status === 'False'),
  );
  if (unfinished) return false;
  return generation !== undefined && conditions.find((c) => c.type === VOLUMES)?.observedGeneration === generation;
}

/**
 * reconcile has not yet stated this generation (its status records an older one, or none): rolling-update
 * acts on what reconcile applied, and reconcile's status write for it is an update event of its own. So
 * the echo of the finalizer write on a new cluster, and the user's edit itself, need no look; the one after
 * reconcile's write does (ADR 0130). Should that write's event be lost, the periodic check looks.
 */
function reconcileBehind(data: ObjectData): boolean {
  const generation = data.metadata?.generation;
  return generation !== undefined && data.status?.observedGeneration !== generation;
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
    if (data.metadata?.name === undefined || (event.type === UPDATE_TYPE && (reconcileBehind(data) || lookedAt(data)))) return [];
    return [{ namespace, name: data.metadata.name }];
  }
  const labels = data.metadata?.labels ?? {};
  // Spilo pods (and their StatefulSet) carry the cluster labels; pooler pods do not carry all of them.
  const spilo = Object.entries(config.clusterLabels).every(([k, v]) => labels[k] === v);
  const name = labels[config.clusterNameLabel];
  return spilo && name !== undefined ? [{ namespace, name, fromPod: true }] : [];
}

const NODE_DELETE = 'dev.knative.apiserver.resource.delete';

/**
 * The Node a Node event carries when that node is going away (ADR 0076), decided from the event's own
 * data: heartbeats and changes of a healthy node cost no API call. A deleted node's pods are gone with it.
 */
export function leavingNodeOf(event: CloudEventV1<unknown>, readinessLabel: Readonly<Record<string, string>>): string | undefined {
  if (!event.type.startsWith(RESOURCE_PREFIX) || event.type === NODE_DELETE) return undefined;
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as NodeFacts & { kind?: string };
  const extension = event['kind'];
  const kind = typeof extension === 'string' ? extension : (data.kind ?? '');
  if (kind !== 'Node' || typeof data.metadata?.name !== 'string') return undefined;
  // Any NoExecute taint counts here: which ones a cluster tolerates is decided per cluster, in its step.
  return nodeLeaving(data, { readinessLabel, tolerations: [] }) === undefined ? undefined : data.metadata.name;
}

/**
 * The clusters with a Spilo pod on `node`, or with one waiting to be scheduled (a pod a drain evicted
 * whose local volume keeps it Pending: whether that volume is on `node` is read under the Lease).
 */
export function clustersOnNode(
  pods: readonly { metadata?: { namespace?: string; labels?: Record<string, string> }; spec?: { nodeName?: string } }[],
  node: string,
  config: Pick<OperatorConfig, 'clusterNameLabel'>,
): ClusterRef[] {
  const seen = new Map<string, ClusterRef>();
  for (const pod of pods) {
    const name = pod.metadata?.labels?.[config.clusterNameLabel];
    const namespace = pod.metadata?.namespace;
    const where = pod.spec?.nodeName;
    if (
      (where !== node && where !== undefined && where !== '') ||
      name === undefined ||
      namespace === undefined ||
      clusterRefOf(namespace, name) === undefined
    )
      continue;
    seen.set(`${namespace}/${name}`, { namespace, name });
  }
  return [...seen.values()];
}
