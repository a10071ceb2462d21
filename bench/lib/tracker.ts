import * as k8s from '@kubernetes/client-node';

const RUNNING = 'Running';

interface ClusterTimes {
  submittedAt?: number;
  runningAt?: number;
  statuses: string[];
}

/**
 * Watches the postgresql objects of a namespace (through the control plane's own apiserver) and
 * records, per cluster, when it was submitted and when its status first became Running.
 */
export class ConvergenceTracker {
  private readonly clusters = new Map<string, ClusterTimes>();
  private readonly informer: k8s.Informer<k8s.KubernetesObject>;
  private waiters: (() => void)[] = [];

  constructor(kc: k8s.KubeConfig, namespace: string) {
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.informer = k8s.makeInformer<k8s.KubernetesObject>(
      kc,
      `/apis/acid.zalan.do/v1/namespaces/${namespace}/postgresqls`,
      async () =>
        custom.listNamespacedCustomObject({ group: 'acid.zalan.do', version: 'v1', namespace, plural: 'postgresqls' }) as Promise<
          k8s.KubernetesListObject<k8s.KubernetesObject>
        >,
    );
    const seen = (obj: k8s.KubernetesObject): void => this.observe(obj);
    this.informer.on('add', seen);
    this.informer.on('update', seen);
    this.informer.on('error', () =>
      setTimeout(() => {
        void this.informer.start().catch(() => undefined);
      }, 500),
    );
  }

  async start(): Promise<void> {
    await this.informer.start();
  }

  async stop(): Promise<void> {
    await this.informer.stop();
  }

  submitted(name: string, at: number): void {
    const c = this.entry(name);
    c.submittedAt ??= at;
  }

  running(): number {
    return [...this.clusters.values()].filter((c) => c.runningAt !== undefined).length;
  }

  /** Resolves when `names` are all Running; rejects after `timeoutMs` naming a few that are not. */
  async allRunning(names: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const waiting = names.filter((n) => this.clusters.get(n)?.runningAt === undefined);
      if (waiting.length === 0) return;
      if (Date.now() > deadline) {
        const sample = waiting.slice(0, 5).map((n) => `${n} (${(this.clusters.get(n)?.statuses ?? []).join('→') || 'no status'})`);
        throw new Error(
          `${waiting.length} of ${names.length} clusters not Running after ${Math.round(timeoutMs / 1000)} s: ${sample.join(', ')}`,
        );
      }
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 1000);
        this.waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }

  /** Per-cluster submit → Running latencies (ms) and the time the last one became Running. */
  latencies(names: readonly string[]): { perCluster: number[]; lastRunningAt: number } {
    const per: number[] = [];
    let last = 0;
    for (const n of names) {
      const c = this.clusters.get(n);
      if (c?.runningAt === undefined || c.submittedAt === undefined) continue;
      per.push(c.runningAt - c.submittedAt);
      last = Math.max(last, c.runningAt);
    }
    return { perCluster: per, lastRunningAt: last };
  }

  /** The sequence of distinct statuses each cluster went through, counted (e.g. "Creating→Running": 100). */
  statusPaths(): Record<string, number> {
    const out = new Map<string, number>();
    for (const c of this.clusters.values()) {
      const path = c.statuses.join('→') || '(none)';
      out.set(path, (out.get(path) ?? 0) + 1);
    }
    return Object.fromEntries(out);
  }

  private observe(obj: k8s.KubernetesObject): void {
    const name = obj.metadata?.name ?? '';
    const status = (obj as { status?: { PostgresClusterStatus?: string } }).status?.PostgresClusterStatus;
    const c = this.entry(name);
    if (status !== undefined && c.statuses[c.statuses.length - 1] !== status) c.statuses.push(status);
    if (status === RUNNING && c.runningAt === undefined) {
      c.runningAt = performance.now();
      this.waiters.splice(0).forEach((w) => w());
    }
  }

  private entry(name: string): ClusterTimes {
    let c = this.clusters.get(name);
    if (c === undefined) {
      c = { statuses: [] };
      this.clusters.set(name, c);
    }
    return c;
  }
}

/** What each cluster must have besides status Running: kind → names, checked by listing the namespace. */
export interface ObjectCheck {
  readonly missing: string[];
  /** Objects labelled cluster-name=<cluster> per kind, summed over clusters (what each side made). */
  readonly labelledByKind: Record<string, number>;
}

const KINDS: readonly (readonly [apiVersion: string, kind: string])[] = [
  ['apps/v1', 'StatefulSet'],
  ['v1', 'Service'],
  ['v1', 'Endpoints'],
  ['v1', 'Secret'],
  ['policy/v1', 'PodDisruptionBudget'],
  ['v1', 'Pod'],
  ['v1', 'PersistentVolumeClaim'],
  ['v1', 'ServiceAccount'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
];

/** Lists every kind once and checks the expected `Kind/name`s of every cluster exist. */
export async function checkObjects(kc: k8s.KubeConfig, namespace: string, expected: readonly string[]): Promise<ObjectCheck> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  const present = new Set<string>();
  const labelled: Record<string, number> = {};
  for (const [apiVersion, kind] of KINDS) {
    const list = await api.list(apiVersion, kind, namespace);
    for (const o of list.items) {
      present.add(`${kind}/${o.metadata?.name ?? ''}`);
      if (o.metadata?.labels?.['cluster-name'] !== undefined) labelled[kind] = (labelled[kind] ?? 0) + 1;
    }
  }
  return { missing: expected.filter((k) => !present.has(k)), labelledByKind: labelled };
}
