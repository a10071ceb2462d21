// What the UI and the fleet metrics know about one cluster, computed from what the API server lists
// (postgresqls, Spilo and pooler pods, Events). Pure: the reads happen in read.ts.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Condition, Postgresql } from '@pgfn/api';

export interface PodSummary {
  readonly name: string;
  readonly role: string;
  readonly phase: string;
  readonly ready: boolean;
  readonly ip: string;
}

export interface EventSummary {
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  readonly time: string;
  readonly component: string;
}

export interface ClusterSummary {
  readonly namespace: string;
  readonly name: string;
  readonly team: string;
  readonly version: string;
  readonly status: string;
  readonly instances: number;
  readonly conditions: readonly Condition[];
  readonly pods: readonly PodSummary[];
  readonly masters: readonly string[];
  readonly pooler: { readonly enabled: boolean; readonly pods: number; readonly running: number };
  /** The BackupVerified condition when it says True: when and what. */
  readonly lastVerifiedBackup?: { readonly time: string; readonly message: string };
  readonly events: readonly EventSummary[];
}

export interface LivePod extends KubernetesObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

export interface LiveEvent extends KubernetesObject {
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  type?: string;
  reason?: string;
  message?: string;
  lastTimestamp?: string | Date;
  eventTime?: string | Date;
  metadata?: { namespace?: string; creationTimestamp?: Date };
  source?: { component?: string };
  reportingComponent?: string;
}

export interface SummaryInputs {
  readonly clusters: readonly Postgresql[];
  readonly spiloPods: readonly LivePod[];
  readonly poolerPods: readonly LivePod[];
  readonly events: readonly LiveEvent[];
  /** The configured cluster_name_label and pod_role_label. */
  readonly clusterLabel: string;
  readonly roleLabel: string;
  /** Events kept per cluster, newest first. */
  readonly eventsPerCluster?: number;
}

const key = (namespace: string, name: string): string => `${namespace}/${name}`;

export function summarize(inputs: SummaryInputs): ClusterSummary[] {
  const byCluster = <T extends { metadata?: { namespace?: string; labels?: Record<string, string> } }>(items: readonly T[]) => {
    const map = new Map<string, T[]>();
    for (const item of items) {
      const name = item.metadata?.labels?.[inputs.clusterLabel];
      if (name === undefined) continue;
      const k = key(item.metadata?.namespace ?? '', name);
      map.set(k, [...(map.get(k) ?? []), item]);
    }
    return map;
  };
  const spilo = byCluster(inputs.spiloPods);
  const pooler = byCluster(inputs.poolerPods);
  const events = new Map<string, LiveEvent[]>();
  for (const e of inputs.events) {
    if (e.involvedObject?.kind !== 'postgresql' || e.involvedObject.name === undefined) continue;
    const k = key(e.involvedObject.namespace ?? e.metadata?.namespace ?? '', e.involvedObject.name);
    events.set(k, [...(events.get(k) ?? []), e]);
  }
  return inputs.clusters
    .map((c) => {
      const namespace = c.metadata.namespace ?? 'default';
      const k = key(namespace, c.metadata.name ?? '');
      const pods = (spilo.get(k) ?? []).map((p) => podSummary(p, inputs.roleLabel)).sort((a, b) => a.name.localeCompare(b.name));
      const poolerPods = pooler.get(k) ?? [];
      const conditions = c.status?.conditions ?? [];
      const verified = conditions.find((x) => x.type === 'BackupVerified' && x.status === 'True');
      return {
        namespace,
        name: c.metadata.name ?? '',
        team: c.spec.teamId ?? '',
        version: c.spec.postgresql?.version ?? '',
        status: c.status?.PostgresClusterStatus ?? 'Unknown',
        instances: c.spec.numberOfInstances ?? 0,
        conditions,
        pods,
        masters: pods.filter((p) => p.role === 'master' && p.phase === 'Running').map((p) => p.name),
        pooler: {
          enabled: c.spec.enableConnectionPooler === true || c.spec.enableReplicaConnectionPooler === true,
          pods: poolerPods.length,
          running: poolerPods.filter((p) => p.status?.phase === 'Running').length,
        },
        ...(verified === undefined
          ? {}
          : { lastVerifiedBackup: { time: verified.lastTransitionTime ?? '', message: verified.message ?? '' } }),
        events: (events.get(k) ?? [])
          .map(eventSummary)
          .sort((a, b) => b.time.localeCompare(a.time))
          .slice(0, inputs.eventsPerCluster ?? 10),
      };
    })
    .sort((a, b) => key(a.namespace, a.name).localeCompare(key(b.namespace, b.name)));
}

function podSummary(p: LivePod, roleLabel: string): PodSummary {
  return {
    name: p.metadata?.name ?? '',
    role: p.metadata?.labels?.[roleLabel] ?? '',
    phase: p.status?.phase ?? 'Unknown',
    ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    ip: p.status?.podIP ?? '',
  };
}

function eventSummary(e: LiveEvent): EventSummary {
  const time: unknown = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp ?? '';
  return {
    type: e.type ?? '',
    reason: e.reason ?? '',
    message: e.message ?? '',
    time: time instanceof Date ? time.toISOString() : String(time),
    component: e.source?.component ?? e.reportingComponent ?? '',
  };
}
