// Stand-ins for what the function kit (issue 13) will offer every function: the operator
// configuration read like upstream, a guarded status-condition write that keeps other functions'
// conditions, and Kubernetes Event recording. Replace with the kit's once it lands.
import type { CoreV1Event, KubernetesObject, V1ConfigMap } from '@kubernetes/client-node';
import {
  API_VERSION,
  DEFAULT_OPERATOR_CONFIG,
  fromConfigMap,
  fromOperatorConfiguration,
  GROUP,
  OPERATOR_CONFIGURATION_KIND,
  POSTGRESQL_KIND,
  POSTGRESQL_PLURAL,
  VERSION,
  type Condition,
  type OperatorConfig,
  type OperatorConfiguration,
} from '@pgfn/api';
import { refOf, statusCode, type KubeClient } from '@pgfn/kube';
import type { Cluster } from './cluster.js';
import type { ConditionUpdate } from './conditions.js';

/** Reads the configuration named by upstream's env variables, afresh on every call. */
export function configLoader(kube: KubeClient, env: NodeJS.ProcessEnv = process.env): () => Promise<OperatorConfig> {
  const namespace = env['OPERATOR_NAMESPACE'] || env['POD_NAMESPACE'] || 'default';
  const object = env['POSTGRES_OPERATOR_CONFIGURATION_OBJECT'] || undefined;
  const configMap = env['CONFIG_MAP_NAME'] || undefined;
  return async () => {
    if (object !== undefined) {
      const obj = await kube.get<OperatorConfiguration & KubernetesObject>({
        apiVersion: API_VERSION,
        kind: OPERATOR_CONFIGURATION_KIND,
        namespace,
        name: object,
      });
      if (obj === undefined) throw new Error(`OperatorConfiguration ${namespace}/${object} not found`);
      return fromOperatorConfiguration(obj).config;
    }
    if (configMap !== undefined) {
      const [ns, name] = configMap.includes('/') ? configMap.split('/', 2) : [namespace, configMap];
      const cm = await kube.get<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: name ?? '' });
      if (cm === undefined) throw new Error(`ConfigMap ${ns}/${name} not found`);
      return fromConfigMap(cm.data ?? {}).config;
    }
    return DEFAULT_OPERATOR_CONFIG;
  };
}

/** `conditions` with the updates merged in (others kept), or undefined when nothing changes. */
export function mergeConditions(
  current: readonly Condition[],
  updates: readonly ConditionUpdate[],
  now: Date,
  generation?: number,
): Condition[] | undefined {
  let changed = false;
  const out = [...current];
  for (const u of updates) {
    const i = out.findIndex((c) => c.type === u.type);
    const before = i < 0 ? undefined : out[i];
    if (before !== undefined && before.status === u.status && before.reason === u.reason && before.message === u.message) continue;
    const next: Condition = {
      type: u.type,
      status: u.status,
      reason: u.reason ?? 'Unknown',
      message: (u.message ?? '').slice(0, 32_768),
      lastTransitionTime:
        before?.status === u.status && before.lastTransitionTime !== undefined
          ? before.lastTransitionTime
          : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    };
    if (i < 0) out.push(next);
    else out[i] = next;
    changed = true;
  }
  return changed ? out : undefined;
}

export function conditionWriter(
  kube: KubeClient,
  now: () => Date,
): (cluster: Cluster, updates: readonly ConditionUpdate[]) => Promise<boolean> {
  return async (cluster, updates) => {
    let live: Cluster | undefined = cluster;
    for (let attempt = 1; live !== undefined; attempt++) {
      const next = mergeConditions(live.status?.conditions ?? [], updates, now(), live.metadata?.generation);
      if (next === undefined) return false;
      try {
        const meta = live.metadata ?? {};
        await kube.patchCustomStatus(
          GROUP,
          VERSION,
          POSTGRESQL_PLURAL,
          meta.namespace ?? '',
          meta.name ?? '',
          { conditions: next },
          meta.resourceVersion,
        );
        return true;
      } catch (err) {
        if (statusCode(err) !== 409 || attempt >= 5) throw err;
      }
      live = await kube.get<Cluster>(refOf(live));
    }
    return false;
  };
}

export function eventRecorder(
  kube: KubeClient,
  now: () => Date,
): (cluster: Cluster, type: 'Normal' | 'Warning', reason: string, message: string) => Promise<void> {
  return async (cluster, type, reason, message) => {
    const at = now();
    const event: CoreV1Event = {
      metadata: { generateName: `${cluster.metadata?.name ?? 'cluster'}.`, namespace: cluster.metadata?.namespace },
      involvedObject: {
        apiVersion: API_VERSION,
        kind: POSTGRESQL_KIND,
        name: cluster.metadata?.name,
        namespace: cluster.metadata?.namespace,
        uid: cluster.metadata?.uid,
      },
      type,
      reason,
      message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
      source: { component: 'pgfn-rolling-update' },
    };
    await kube.createEvent(event);
  };
}
