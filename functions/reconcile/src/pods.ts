import type { V1Pod } from '@kubernetes/client-node';
import { WAL_ARCHIVE_FAILURE_ANNOTATION, type OperatorConfig } from '@pgfn/api';
import { podAwaitsRollingUpdate } from '@pgfn/builder';
import type { Logger } from '@pgfn/fn-runtime';
import type { ObjectRef } from '@pgfn/kube';
import { ROLLING_UPDATE_REQUIRED, type ReconcileDeps } from './deps.js';
import { matchesSelector, type Cluster, type LiveState } from './live-state.js';
import { recordEvent } from './records.js';
import type { PodSummary } from './status.js';

// Pods: rotation marks, pooler pod replacement, and what Patroni's labels say.

export interface PodsSeen {
  readonly stale: string[];
  readonly newlyMarked: number;
  readonly summary: PodSummary;
}

/**
 * Marks the pods whose template hash differs from the desired one, or every pod when a system
 * user's password changed (so the rotation survives a lost event), and counts roles as Patroni
 * labelled them, for PodsReady. A pod carrying the mark counts as pending until it is replaced.
 */
export interface PodMarking {
  readonly namespace: string;
  readonly pods: readonly V1Pod[];
  /** The configured pod_role_label. */
  readonly roleLabel: string;
  /** The desired pod-template hash; undefined when unknown (nothing is stale by template). */
  readonly desiredHash: string | undefined;
  /** Why every pod must restart (a system user's password changed); empty otherwise. */
  readonly passwordReasons: readonly string[];
  readonly log: Logger;
}

export async function markPods(deps: ReconcileDeps, m: PodMarking): Promise<PodsSeen> {
  const { namespace, pods, roleLabel, desiredHash, passwordReasons, log } = m;
  const summary = summarisePods(pods, roleLabel);
  const stale = pods.filter(
    (p) => passwordReasons.length > 0 || isMarked(p) || (desiredHash !== undefined && deps.builder.podTemplateHash(p) !== desiredHash),
  );
  let newlyMarked = 0;
  for (const pod of stale) {
    if (isMarked(pod)) continue;
    const ref: ObjectRef = { apiVersion: 'v1', kind: 'Pod', namespace, name: pod.metadata?.name ?? '' };
    await deps.kube.patchMetadata(ref, { annotations: { [ROLLING_UPDATE_REQUIRED]: 'true' } });
    newlyMarked++;
  }
  if (newlyMarked > 0)
    log.info(
      { pods: stale.map((p) => p.metadata?.name), ...(passwordReasons.length > 0 ? { reasons: passwordReasons } : {}) },
      'marked pods for rotation',
    );
  return { stale: stale.map((p) => p.metadata?.name ?? '').sort(), newlyMarked, summary };
}

/**
 * The pooler reads its user's password at start, so after an in-place rotation its pods are marked
 * and then deleted (its Deployment starts new ones), as upstream does. Marked pods left behind by an
 * interrupted run are deleted by the next one.
 */
export async function replacePoolerPods(
  deps: ReconcileDeps,
  target: { readonly cluster: Cluster; readonly config: OperatorConfig; readonly live: LiveState; readonly log: Logger },
  reasons: readonly string[],
): Promise<void> {
  const { cluster, config, live, log } = target;
  const selector = deps.builder.poolerPodSelector(cluster, config);
  const pods = (live.pods.get(deps.builder.clusterLabel(cluster, config)[1]) ?? []).filter((p) =>
    matchesSelector(p.metadata?.labels, selector),
  );
  const doomed = pods.filter((p) => reasons.length > 0 || isMarked(p));
  if (doomed.length === 0) return;
  const namespace = cluster.metadata?.namespace ?? '';
  for (const pod of doomed) {
    const ref: ObjectRef = { apiVersion: 'v1', kind: 'Pod', namespace, name: pod.metadata?.name ?? '' };
    if (!isMarked(pod)) await deps.kube.patchMetadata(ref, { annotations: { [ROLLING_UPDATE_REQUIRED]: 'true' } });
  }
  for (const pod of doomed) await deps.kube.delete({ apiVersion: 'v1', kind: 'Pod', namespace, name: pod.metadata?.name ?? '' });
  const names = doomed.map((p) => p.metadata?.name ?? '').sort();
  log.info({ pods: names, reasons }, 'replaced pooler pods');
  await recordEvent(deps, cluster, {
    type: 'Normal',
    reason: 'PoolerPodsReplaced',
    message: `${names.length} pooler pod(s) replaced${reasons.length > 0 ? `: ${reasons.join('; ')}` : ' (marked for replacement)'}`,
  });
}

/**
 * Why rolling-update should look at the cluster now, judged from its pods as just read; empty when no
 * pod has work for it. The shipped Triggers send pod events to reconcile alone, and this relays the few
 * that matter (ADR 0120): a rollout in progress always has a marked pod, a restart Patroni asks for shows
 * in its member annotation.
 */
export function rollingUpdateWork(pods: readonly V1Pod[], seen: PodsSeen): string[] {
  const reasons: string[] = [];
  if (seen.newlyMarked > 0) reasons.push('pods made from an outdated template');
  if (pods.some((p) => isMarked(p))) reasons.push('pods marked for rotation');
  if (pods.some((p) => !isMarked(p) && podAwaitsRollingUpdate(p))) reasons.push('Patroni reports a pending restart');
  return reasons;
}

export function isMarked(pod: V1Pod): boolean {
  return pod.metadata?.annotations?.[ROLLING_UPDATE_REQUIRED] === 'true';
}

export function summarisePods(pods: readonly V1Pod[], roleLabel: string): PodSummary {
  const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);
  const role = (p: V1Pod): string | undefined => p.metadata?.labels?.[roleLabel];
  return {
    total: pods.length,
    ready: ready.length,
    masters: pods.filter((p) => role(p) === 'master').length,
    replicas: pods.filter((p) => role(p) === 'replica').length,
    archiveFailures: pods.flatMap((p) => {
      const failure = p.metadata?.annotations?.[WAL_ARCHIVE_FAILURE_ANNOTATION];
      return failure === undefined ? [] : [`${p.metadata?.name ?? ''}: ${failure}`];
    }),
  };
}
