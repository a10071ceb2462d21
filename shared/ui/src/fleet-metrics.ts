// Fleet metrics, read from the API server at scrape time (ADR 0040): a scaled-to-zero function
// cannot hold a gauge, the UI runs all the time and already lists every cluster. Names and labels:
// README.md "Metrics".
import { Gauge, type Registry } from 'prom-client';
import type { ClusterSummary } from './summary.js';

type Read = () => Promise<readonly ClusterSummary[]>;

/** One read per scrape, however many gauges collect (prom-client calls each gauge's collect). */
function perScrape(read: Read, maxAgeMs = 500): Read {
  let last: { at: number; value: Promise<readonly ClusterSummary[]> } | undefined;
  return () => {
    if (last === undefined || Date.now() - last.at > maxAgeMs) last = { at: Date.now(), value: read() };
    return last.value;
  };
}

/** Registers the pgfn_cluster* gauges on `registry`, each filled from `read` when scraped. */
export function registerFleetMetrics(registry: Registry, read: Read): void {
  const fleet = perScrape(read);
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (g: Gauge<L>, clusters: readonly ClusterSummary[]) => void,
  ): void => {
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        fill(this, await fleet());
      },
    });
  };
  const id = (c: ClusterSummary) => ({ namespace: c.namespace, cluster: c.name });
  gauge('pgfn_clusters', 'postgresql clusters by status', ['status'], (g, clusters) => {
    const counts = new Map<string, number>();
    for (const c of clusters) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
    for (const [status, n] of counts) g.set({ status }, n);
  });
  gauge(
    'pgfn_cluster_info',
    'One series per cluster: its status, team and version',
    ['namespace', 'cluster', 'status', 'team', 'version'],
    (g, cs) => {
      for (const c of cs) g.set({ ...id(c), status: c.status, team: c.team, version: c.version }, 1);
    },
  );
  gauge('pgfn_cluster_instances_desired', 'numberOfInstances of the manifest', ['namespace', 'cluster'], (g, cs) => {
    for (const c of cs) g.set(id(c), c.instances);
  });
  gauge('pgfn_cluster_pods_running', 'Spilo pods in phase Running', ['namespace', 'cluster'], (g, cs) => {
    for (const c of cs) g.set(id(c), c.pods.filter((p) => p.phase === 'Running').length);
  });
  gauge('pgfn_cluster_masters', 'Running pods labelled master (1 is healthy)', ['namespace', 'cluster'], (g, cs) => {
    for (const c of cs) g.set(id(c), c.masters.length);
  });
  gauge('pgfn_cluster_master_info', 'The running master pod', ['namespace', 'cluster', 'pod'], (g, cs) => {
    for (const c of cs) for (const pod of c.masters) g.set({ ...id(c), pod }, 1);
  });
  gauge(
    'pgfn_cluster_condition',
    'status.conditions: 1 for the status each condition has',
    ['namespace', 'cluster', 'type', 'status'],
    (g, cs) => {
      for (const c of cs) for (const x of c.conditions) g.set({ ...id(c), type: x.type, status: x.status }, 1);
    },
  );
  gauge('pgfn_cluster_pooler_pods_running', 'Connection pooler pods in phase Running', ['namespace', 'cluster'], (g, cs) => {
    for (const c of cs) if (c.pooler.enabled) g.set(id(c), c.pooler.running);
  });
}
