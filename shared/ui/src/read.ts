// The UI's reads, all with its own ServiceAccount (list/watch-free: a page or a scrape lists afresh).
// Secrets are never read.
import type { Postgresql } from '@pgfn/api';
import { clusterNameLabelKey, podRoleLabelKey, POOLER_APPLICATION } from '@pgfn/builder';
import type { ConfigLoader } from '@pgfn/fn-runtime';
import type { KubeClient } from '@pgfn/kube';
import { summarize, type ClusterSummary, type LiveEvent, type LivePod } from './summary.js';

export interface FleetReader {
  readonly kube: KubeClient;
  readonly loadConfig: ConfigLoader;
  /** Only this namespace (WATCHED_NAMESPACE), or every namespace. */
  readonly namespace?: string;
}

export async function readFleet(reader: FleetReader): Promise<ClusterSummary[]> {
  const { config } = await reader.loadConfig(10_000);
  const ns = reader.namespace;
  const [clusters, spiloPods, poolerPods, events] = await Promise.all([
    reader.kube.list<Postgresql & { kind: string }>('acid.zalan.do/v1', 'postgresql', ns),
    reader.kube.list<LivePod>('v1', 'Pod', ns, 'application=spilo'),
    reader.kube.list<LivePod>('v1', 'Pod', ns, `application=${POOLER_APPLICATION}`),
    reader.kube.list<LiveEvent>('v1', 'Event', ns),
  ]);
  return summarize({
    clusters,
    spiloPods,
    poolerPods,
    events,
    clusterLabel: clusterNameLabelKey(config),
    roleLabel: podRoleLabelKey(config),
  });
}
