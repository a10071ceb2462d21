// Events → clusters → one step each. A cluster another instance is working on answers 503, so the
// Broker redelivers a little later and the step that event would have caused is not lost.
import type { CloudEventV1 } from 'cloudevents';
import type { V1Pod } from '@kubernetes/client-node';
import type { OperatorConfig } from '@pgfn/api';
import { clusterLabels, podAwaitsRollingUpdate } from '@pgfn/builder';
import { RetryableError, type HandlerContext, type Outcome } from '@pgfn/fn-runtime';
import { equalitySelector } from '@pgfn/kube';
import { readFleet, type LiveCluster } from './cluster.js';
import { advance, CONFIG_MAX_AGE_MS, type AdvanceOutcome } from './advance.js';
import type { RollingDeps } from './deps.js';
import { clustersOf, clustersOnNode, leavingNodeOf, type ClusterRef } from './targets.js';

/** Clusters the periodic check looks at concurrently. */
const PERIODIC_CONCURRENCY = 4;

interface Target extends ClusterRef {
  readonly seen?: LiveCluster;
}

async function allClusters(deps: RollingDeps, config: OperatorConfig): Promise<Target[]> {
  const fleet = await readFleet(deps.kube, deps.watchedNamespace, config);
  return fleet.map((seen) => ({ namespace: seen.cluster.metadata?.namespace ?? '', name: seen.cluster.metadata?.name ?? '', seen }));
}

/**
 * Pod events arrive every Patroni loop (its heartbeat annotation): one list of the cluster's pods
 * decides whether any has work, before the Lease and the full read. A rollout in progress always
 * has a marked pod; a finished step that unblocks the next shows up in the pod events that follow.
 * The shipped Triggers send pod events to reconcile, which relays them only when a pod has work
 * (ADR 0120); this serves a Trigger of one's own that sends them here.
 */
async function worthALook(deps: RollingDeps, ref: ClusterRef, config: OperatorConfig): Promise<boolean> {
  if (ref.fromPod !== true) return true;
  const selector = equalitySelector(clusterLabels({ metadata: { name: ref.name } }, config));
  const pods = await deps.kube.list<V1Pod>('v1', 'Pod', ref.namespace, selector);
  return pods.some(podAwaitsRollingUpdate);
}

/** A node going away: the clusters with a Spilo pod on it, each then read afresh under its Lease. */
async function clustersOnLeavingNode(deps: RollingDeps, node: string, config: OperatorConfig): Promise<ClusterRef[]> {
  const selector = equalitySelector(config.clusterLabels);
  const pods = await deps.kube.list<V1Pod>('v1', 'Pod', deps.watchedNamespace, selector);
  return clustersOnNode(pods, node, config);
}

export function createHandler(deps: RollingDeps): (event: CloudEventV1<unknown>, ctx: HandlerContext) => Promise<Outcome> {
  return async (event, ctx) => {
    const { config } = await deps.loadConfig(CONFIG_MAX_AGE_MS);
    const leaving = leavingNodeOf(event, config.nodeReadinessLabel);
    const found = leaving === undefined ? clustersOf(event, config) : await clustersOnLeavingNode(deps, leaving, config);
    const periodic = found === 'all';
    const refs: Target[] = periodic
      ? await allClusters(deps, config)
      : found.filter((r) => deps.watchedNamespace === undefined || r.namespace === deps.watchedNamespace);
    if (refs.length === 0) return 'ignored';
    const outcomes: AdvanceOutcome[] = [];
    const queue = [...refs];
    const worker = async (): Promise<void> => {
      for (let ref = queue.shift(); ref !== undefined; ref = queue.shift()) {
        const log = ctx.log.child({ namespace: ref.namespace, cluster: ref.name });
        if (!(await worthALook(deps, ref, config))) continue;
        const outcome = await advance(deps, ref, { log, ...(ref.seen === undefined ? {} : { seen: ref.seen }) });
        log.info({ outcome }, 'rolling-update step');
        outcomes.push(outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PERIODIC_CONCURRENCY, refs.length) }, worker));
    // The periodic check comes again; a direct event must not be lost while another instance holds the cluster.
    if (!periodic && outcomes.includes('busy')) throw new RetryableError('another instance is working on this cluster; retry later');
    return outcomes.length === 0 || outcomes.every((o) => o === 'gone') ? 'ignored' : 'ok';
  };
}
