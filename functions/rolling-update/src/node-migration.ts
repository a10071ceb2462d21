// The effects of a node migration step (ADR 0076): a switchover off a leaving node, or a replica
// recreated elsewhere. A replica whose volume is pinned to the leaving node (a local PersistentVolume)
// loses its claim too, so the StatefulSet recreates both on a node that stays and Patroni clones the
// replica from the master; a network volume simply follows the pod. Status: the NodeMigration condition.
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { podRoleLabelKey } from '@pgfn/builder';
import type { EventRecord } from '@pgfn/fn-runtime';
import { patroniUrl, type ClusterMember } from '@pgfn/patroni';
import type { ConditionUpdate } from './conditions.js';
import { nodeLeaving } from './node-leaving.js';
import { planNodeMigration, type MigrationStep } from './node-migration-plan.js';
import { mustAct } from './would-act.js';
import type { ConditionStepContext } from './step-context.js';

export const NODE_MIGRATION = 'NodeMigration';
/** Set by the scheduler on a WaitForFirstConsumer claim: the node its volume was provisioned for. */
const SELECTED_NODE = 'volume.kubernetes.io/selected-node';

const REASONS: Record<MigrationStep['action'], string> = {
  none: 'NoNodeLeaving',
  wait: 'Waiting',
  blocked: 'Blocked',
  switchover: 'MovingMaster',
  recreate: 'MovingReplica',
};

function condition(step: MigrationStep): ConditionUpdate {
  const what =
    step.action === 'switchover'
      ? `switching over from ${step.from} to ${step.to}: ${step.reason}`
      : step.action === 'recreate'
        ? `recreating replica ${step.pod} off ${step.node}: ${step.reason}`
        : step.reason;
  return { type: NODE_MIGRATION, status: step.action === 'none' ? 'False' : 'True', reason: REASONS[step.action], message: what };
}

export function migrationPlan(
  ctx: Pick<ConditionStepContext, 'config' | 'live'>,
  members: readonly ClusterMember[] | undefined,
  streaming?: ReadonlySet<string>,
): MigrationStep {
  const roleLabel = podRoleLabelKey(ctx.config);
  const leaving = new Map<string, string>();
  // What the cluster's pods tolerate (manifest `tolerations`, else config `toleration`, ADR 0096).
  const tolerations = ctx.live.statefulSet.spec?.template.spec?.tolerations ?? [];
  for (const node of ctx.live.nodes) {
    const reason = nodeLeaving(node, { readinessLabel: ctx.config.nodeReadinessLabel, tolerations });
    if (reason !== undefined) leaving.set(node.metadata?.name ?? '', reason);
  }
  return planNodeMigration({
    pods: ctx.live.pods.map((p) => {
      const role = p.metadata?.labels?.[roleLabel];
      return {
        name: p.metadata?.name ?? '',
        role: role === 'master' || role === 'replica' ? role : undefined,
        nodeName: p.spec?.nodeName,
        ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
        deleting: p.metadata?.deletionTimestamp !== undefined,
        volumeNode: ctx.live.claims.find((c) => c.metadata?.name?.endsWith(`-${p.metadata?.name ?? ''}`) === true)?.metadata?.annotations?.[
          SELECTED_NODE
        ],
      };
    }),
    leaving,
    members,
    synchronousMode: ctx.live.cluster.spec.patroni?.synchronous_mode === true,
    streaming,
  });
}

/** One migration step; `acted` when it switched over or recreated a pod. */
export async function migrateOffLeavingNodes(
  ctx: ConditionStepContext,
  members: readonly ClusterMember[] | undefined,
  /** The master's streaming replicas, read only when a switchover is due (one Patroni call fewer otherwise). */
  streaming: () => Promise<ReadonlySet<string> | undefined>,
): Promise<{ acted: boolean; condition: ConditionUpdate }> {
  const first = migrationPlan(ctx, members);
  const step = first.action === 'switchover' ? migrationPlan(ctx, members, await streaming()) : first;
  const next = condition(step);
  const { cluster } = ctx.live;
  const namespace = cluster.metadata?.namespace ?? '';
  const event = (type: 'Normal' | 'Warning', reason: string, message: string): EventRecord => ({ about: cluster, type, reason, message });
  switch (step.action) {
    case 'none':
      if (ctx.before.status === 'True') {
        mustAct(ctx);
        await ctx.deps.recordEvent(event('Normal', 'NodeMigrationCompleted', 'no pod runs on a node that is going away'));
      }
      return { acted: false, condition: next };
    case 'wait':
      return { acted: false, condition: next };
    case 'blocked':
      if (ctx.before.message !== next.message) {
        mustAct(ctx);
        await ctx.deps.recordEvent(event('Warning', 'NodeMigrationBlocked', step.reason));
      }
      return { acted: false, condition: next };
    case 'switchover': {
      mustAct(ctx);
      const master = ctx.live.pods.find((p) => p.metadata?.name === step.from);
      await ctx.deps.recordEvent(event('Normal', 'MasterMigration', `moving the master off its node: ${next.message ?? ''}`));
      await ctx.deps.patroni.switchover(patroniUrl(master?.status?.podIP ?? '', ctx.deps.patroniPort), {
        leader: step.from,
        candidate: step.to,
      });
      ctx.log.info({ from: step.from, to: step.to, reason: step.reason }, 'moved the master off a leaving node');
      return { acted: true, condition: next };
    }
    case 'recreate': {
      mustAct(ctx);
      const claims = ctx.live.claims.filter((c) => c.metadata?.name?.endsWith(`-${step.pod}`) === true);
      const pinned: string[] = [];
      for (const claim of claims) {
        const volume = await ctx.deps.kube.get<V1PersistentVolume>({
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          name: claim.spec?.volumeName ?? '',
        });
        if (volume !== undefined && pinnedTo(volume, step.node)) pinned.push(claim.metadata?.name ?? '');
      }
      const data =
        pinned.length === 0
          ? ''
          : `; its volume is local to the node: claim ${pinned.join(', ')} recreated too, data cloned from the master`;
      await ctx.deps.recordEvent(
        event('Normal', 'ReplicaMigration', `recreating replica ${step.pod} off ${step.node}: ${step.reason}${data}`),
      );
      // The claim first: it stays (pvc-protection) until the pod is gone, then the StatefulSet makes both anew.
      for (const name of pinned) await ctx.deps.kube.delete({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name });
      await ctx.deps.kube.delete({ apiVersion: 'v1', kind: 'Pod', namespace, name: step.pod });
      ctx.log.info({ pod: step.pod, node: step.node, claims: pinned }, 'recreating a replica off a leaving node');
      return { acted: true, condition: next };
    }
  }
}

/** Whether the volume can only be used on `node` (a local PersistentVolume's required node affinity). */
function pinnedTo(volume: V1PersistentVolume, node: string): boolean {
  const terms = volume.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
  return terms.some((t) => (t.matchExpressions ?? []).some((e) => e.key === 'kubernetes.io/hostname' && (e.values ?? []).includes(node)));
}
