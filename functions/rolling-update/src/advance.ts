// One invocation for one cluster: under the cluster's Lease, read everything, then take at most one
// step that can take a pod or Postgres down — in upstream's order (sync.go syncStatefulSet): Patroni
// configuration, pending restarts, then pod rotation. Growing volumes never takes anything down, so it
// happens whenever needed. Progress is on status (conditions) and in Events; nothing is remembered in
// the process, so a cold instance resumes where another stopped.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod } from '@kubernetes/client-node';
import type { Condition } from '@pgfn/api';
import { podRoleLabelKey } from '@pgfn/builder';
import { ClusterLease, clusterLeaseName, mergeCondition, writeStatus, type EventRecord, type Logger } from '@pgfn/fn-runtime';
import { PatroniError, patroniUrl, type ClusterMember } from '@pgfn/patroni';
import { readCluster, type Cluster, type LiveCluster } from './cluster.js';
import {
  configCondition,
  patchedCondition,
  PATRONI_CONFIG,
  RESTART_PRIMARY_FIRST,
  ROLLING_UPDATE,
  rotationCondition,
  volumeCondition,
  type ConditionUpdate,
} from './conditions.js';
import type { RollingDeps } from './deps.js';
import { MAJOR_UPGRADE, majorUpgrade } from './major-upgrade.js';
import { migrateOffLeavingNodes, NODE_MIGRATION } from './node-migration.js';
import { mustAct, WouldAct } from './would-act.js';
import { diffPatroniConfig } from './patroni-config-diff.js';
import { claimView, podView, templateImage } from './pod-view.js';
import { planRestart } from './restart-plan.js';
import { backupBeforeRollout } from './rollout-backup.js';
import { planRotation, type RotationStep } from './rotation-plan.js';
import { planVolumeResize } from './volume-resize.js';
import type { StepContext } from './step-context.js';

export type AdvanceOutcome = 'busy' | 'gone' | 'up-to-date' | 'acted' | 'waiting' | 'failed';

/** How long after a configuration patch Patroni may still not report its restarts: two of its loops and a margin. */
function settleMs(loopWaitSeconds: unknown): number {
  const loop = typeof loopWaitSeconds === 'number' && loopWaitSeconds > 0 ? loopWaitSeconds : 10;
  return (2 * loop + 5) * 1000;
}

/** The operator configuration may be this old: it changes rarely, and every invocation would read it. */
export const CONFIG_MAX_AGE_MS = 5000;

/** A Lease outlives a stuck invocation by this much; it is renewed while a step (a switchover: up to ~35 s) runs. */
const LEASE_SECONDS = 30;

export interface AdvanceOptions {
  readonly log: Logger;
  /** The cluster as a fleet-wide read just saw it (the periodic check): the first look reads nothing more. */
  readonly seen?: LiveCluster;
}

export async function advance(deps: RollingDeps, ref: { namespace: string; name: string }, opts: AdvanceOptions): Promise<AdvanceOutcome> {
  const { log } = opts;
  // Most events find nothing to do: decide that without the Lease (its two writes per invocation were
  // most of the function's API cost), and take the Lease, reading everything again, only to act.
  const first = await firstLook(deps, ref, opts);
  if (first !== 'would-act') return first;
  const lease = new ClusterLease({
    kube: deps.kube,
    namespace: ref.namespace,
    name: clusterLeaseName(ref.name, 'rolling-update'),
    // Unique per invocation: two concurrent invocations in one process must not share the Lease.
    holder: `${deps.holder}/${randomUUID()}`,
    durationSeconds: deps.leaseSeconds ?? LEASE_SECONDS,
    now: deps.now,
  });
  const held = await lease.hold(async () => {
    const { config } = await deps.loadConfig();
    const live = await readCluster(deps.kube, ref, config);
    if (live === undefined) return 'gone' as const;
    return step({ deps, config, live, log, act: true });
  });
  return held === undefined ? 'busy' : held.value;
}

async function firstLook(
  deps: RollingDeps,
  ref: { namespace: string; name: string },
  { log, seen }: AdvanceOptions,
): Promise<AdvanceOutcome | 'would-act'> {
  const { config } = await deps.loadConfig(CONFIG_MAX_AGE_MS);
  const live = seen ?? (await readCluster(deps.kube, ref, config));
  if (live === undefined) return 'gone';
  try {
    return await step({ deps, config, live, log, act: false });
  } catch (err) {
    if (err instanceof WouldAct) return 'would-act';
    throw err;
  }
}

async function step(ctx: StepContext): Promise<AdvanceOutcome> {
  const conditions: ConditionUpdate[] = [await volumes(ctx)];
  const roleLabel = podRoleLabelKey(ctx.config);
  const master = ctx.live.pods.find((p) => p.metadata?.labels?.[roleLabel] === 'master' && p.status?.podIP !== undefined);
  const base = master === undefined ? undefined : patroniUrl(master.status?.podIP ?? '', ctx.deps.patroniPort);
  const members =
    base === undefined
      ? undefined
      : await ctx.deps.patroni.cluster(base).then(
          (c) => c.members,
          () => undefined,
        );
  // A node going away comes first: its master must move before the node's pods are evicted (ADR 0076).
  const migration = await migrateOffLeavingNodes({ ...ctx, before: previous(ctx, NODE_MIGRATION) }, members, () =>
    streamingFrom(ctx, base),
  );
  if (migration.condition.status === 'True' || previous(ctx, NODE_MIGRATION).status === 'True') conditions.push(migration.condition);
  if (migration.acted) return finish(ctx, conditions, 'acted');
  if (base !== undefined && members !== undefined) {
    const configured = await configure(ctx, base, members);
    conditions.push(configured.condition);
    if (configured.acted) return finish(ctx, conditions, 'acted');
  }
  const rotation = await rotate(ctx, base, members);
  conditions.push(rotation.condition);
  if (rotation.outcome === 'up-to-date' && base !== undefined && members !== undefined) {
    // Pods carry the new PGVERSION (rotated above): the in-place upgrade of the data comes last (upstream's sync order).
    const upgrade = await majorUpgrade({ ...ctx, before: previous(ctx, MAJOR_UPGRADE) }, base, members);
    if (upgrade.condition !== undefined) conditions.push(upgrade.condition);
    if (upgrade.acted) return finish(ctx, conditions, 'acted');
  }
  return finish(ctx, conditions, rotation.outcome);
}

async function finish(ctx: StepContext, conditions: readonly ConditionUpdate[], outcome: AdvanceOutcome): Promise<AdvanceOutcome> {
  const generation = ctx.live.cluster.metadata?.generation;
  const at = { now: ctx.deps.now(), ...(generation === undefined ? {} : { generation }) };
  await writeStatus<{ conditions?: Condition[] }>({
    kube: ctx.deps.kube,
    object: ctx.live.cluster,
    next: (status) => {
      let current = status?.conditions ?? [];
      let changed = false;
      for (const c of conditions) {
        const merged = mergeCondition(current, { ...c, reason: c.reason ?? '', message: c.message ?? '' }, at);
        if (merged !== undefined) [current, changed] = [merged, true];
      }
      return changed ? { conditions: current } : undefined;
    },
  });
  return outcome;
}

function previous(ctx: StepContext, type: string): ConditionUpdate & { lastTransitionTime?: string } {
  return ctx.live.cluster.status?.conditions?.find((c) => c.type === type) ?? { type, status: 'Unknown', reason: '', message: '' };
}

/** Grows PVCs per storage_resize_mode; problems (shrink, off, cloud-only modes) go to status and one Warning per change. */
async function volumes(ctx: StepContext): Promise<ConditionUpdate> {
  const { cluster, claims, expandable } = ctx.live;
  const plan = planVolumeResize({
    mode: ctx.config.storageResizeMode,
    volume: cluster.spec.volume,
    claims: claims.map(claimView),
    expandable,
  });
  if (plan.grow.length > 0) mustAct(ctx);
  for (const g of plan.grow) {
    await ctx.deps.kube.apply({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: g.claim, namespace: cluster.metadata?.namespace },
      spec: { resources: { requests: { storage: g.size } } },
    });
    ctx.log.info({ claim: g.claim, from: g.from, to: g.size }, 'grew volume claim');
  }
  if (plan.grow.length > 0)
    await ctx.deps.recordEvent(
      event(cluster, 'Normal', 'VolumeResized', plan.grow.map((g) => `${g.claim} ${g.from} → ${g.size}`).join('; ')),
    );
  const condition = volumeCondition(
    plan.problems,
    plan.grow.map((g) => g.claim),
  );
  const before = previous(ctx, condition.type);
  if (plan.problems.length > 0 && before.message !== condition.message) {
    mustAct(ctx);
    await ctx.deps.recordEvent(event(cluster, 'Warning', 'VolumeResizeRefused', condition.message ?? ''));
  }
  return condition;
}

/** PATCH /config once when the DCS differs from the manifest; else the next pending restart. */
async function configure(
  ctx: StepContext,
  base: string,
  members: readonly ClusterMember[],
): Promise<{ acted: boolean; condition: ConditionUpdate }> {
  const { cluster } = ctx.live;
  const parameters = { ...(cluster.spec.postgresql.parameters ?? {}) };
  if ((cluster.spec.streams ?? []).length > 0) parameters['wal_level'] = 'logical';
  const effective = await ctx.deps.patroni.config(base);
  const diff = diffPatroniConfig(effective, {
    patroni: cluster.spec.patroni ?? {},
    parameters,
    failsafeDefault: ctx.config.enablePatroniFailsafeMode,
    standby: cluster.spec.standby,
  });
  if (diff.patch !== undefined) {
    mustAct(ctx);
    await ctx.deps.patroni.patchConfig(base, diff.patch);
    ctx.log.info({ changes: diff.changes }, 'patched Patroni configuration');
    await ctx.deps.recordEvent(event(cluster, 'Normal', 'PatroniConfigPatched', diff.changes.join(', ')));
    if (diff.promotes)
      await ctx.deps.recordEvent(
        event(
          cluster,
          'Normal',
          'StandbyPromoted',
          'spec.standby removed: standby_cluster deleted from Patroni, the standby leader promotes',
        ),
      );
    return { acted: true, condition: patchedCondition(diff.changes, diff.restartPrimaryFirst) };
  }
  const before = previous(ctx, PATRONI_CONFIG);
  const primaryFirst = before.reason === RESTART_PRIMARY_FIRST;
  const restart = planRestart({ members: await ownViews(ctx, members), primaryFirst });
  if (restart.action === 'none') {
    // Patroni reports pending restarts only after its next loop: keep the recorded order meanwhile.
    const since = Date.parse(before.lastTransitionTime ?? '');
    const settling = before.status === 'False' && ctx.deps.now().getTime() - since < settleMs(effective['loop_wait']);
    return { acted: false, condition: settling ? before : configCondition(restart, false) };
  }
  if (restart.action === 'wait') return { acted: false, condition: configCondition(restart, primaryFirst) };
  const pod = ctx.live.pods.find((p) => p.metadata?.name === restart.member);
  if (pod?.status?.podIP === undefined) return { acted: false, condition: configCondition(restart, primaryFirst) };
  mustAct(ctx);
  if (!(await stillPending(ctx, pod.status.podIP))) return { acted: false, condition: before };
  try {
    await ctx.deps.patroni.restart(patroniUrl(pod.status.podIP, ctx.deps.patroniPort));
  } catch (err) {
    // 503 "restart conditions are not satisfied": the member's pending restart cleared meanwhile.
    if (err instanceof PatroniError && err.status === 503) return { acted: false, condition: configCondition(restart, primaryFirst) };
    throw err;
  }
  ctx.log.info({ member: restart.member, role: restart.role }, 'restarted Postgres through Patroni');
  await ctx.deps.recordEvent(
    event(cluster, 'Normal', 'PostgresRestarted', `restarted Postgres on ${restart.role} ${restart.member} (pending restart)`),
  );
  return { acted: true, condition: configCondition(restart, primaryFirst) };
}

/**
 * A member counts as waiting for a restart only when its DCS record and its own answer both say so.
 * The DCS copy (GET /cluster) lags a Patroni loop behind, so a member just restarted still shows
 * pending there; the own answer is briefly true during any reload (Patroni 3.0 flags pending_restart
 * from a settings diff, then corrects it from pg_settings a second later), so a reload-only change
 * would otherwise restart every member.
 */
async function ownViews(ctx: StepContext, members: readonly ClusterMember[]): Promise<ClusterMember[]> {
  return Promise.all(
    members.map(async (m) => {
      const ip = ctx.live.pods.find((p) => p.metadata?.name === m.name)?.status?.podIP;
      const own = ip === undefined ? undefined : await ctx.deps.patroni.member(patroniUrl(ip, ctx.deps.patroniPort)).catch(() => undefined);
      if (own === undefined) return { ...m, state: 'unknown' };
      return { ...m, state: own.state, pending_restart: m.pending_restart === true && own.pending_restart === true };
    }),
  );
}

/** Longer than Patroni's reload window (a 1 s sleep after the reload, then the pg_settings query). */
const RELOAD_WINDOW_MS = 2500;

/** Asks the member once more after the reload window: a restart is taken only for a pending restart that lasts. */
async function stillPending(ctx: StepContext, podIP: string): Promise<boolean> {
  await sleep(ctx.deps.reloadWindowMs ?? RELOAD_WINDOW_MS);
  const own = await ctx.deps.patroni.member(patroniUrl(podIP, ctx.deps.patroniPort)).catch(() => undefined);
  return own?.pending_restart === true;
}

async function streamingFrom(ctx: StepContext, base: string | undefined): Promise<ReadonlySet<string> | undefined> {
  if (base === undefined) return undefined;
  const status = await ctx.deps.patroni.member(base).catch(() => undefined);
  if (status === undefined) return undefined;
  return new Set((status.replication ?? []).filter((r) => r.state === 'streaming').map((r) => r.application_name));
}

async function rotate(
  ctx: StepContext,
  base: string | undefined,
  members: readonly ClusterMember[] | undefined,
): Promise<{ outcome: AdvanceOutcome; condition: ConditionUpdate }> {
  const { cluster, statefulSet, pods } = ctx.live;
  const roleLabel = podRoleLabelKey(ctx.config);
  const views = pods.map((p) => podView(p, roleLabel));
  const plan = planRotation({
    pods: views,
    expectedPods: statefulSet.spec?.replicas ?? 0,
    templateImage: templateImage(statefulSet),
    lazySpiloUpgrade: ctx.config.enableLazySpiloUpgrade,
    synchronousMode: cluster.spec.patroni?.synchronous_mode === true,
    members,
    streaming: await streamingFrom(ctx, base),
    nowMs: ctx.deps.now().getTime(),
    podTimeoutMs: ctx.deps.podTimeoutMs,
  });
  const before = previous(ctx, ROLLING_UPDATE);
  if (plan.action === 'delete' || plan.action === 'switchover') {
    // The first step that takes a pod down for a new image waits for a base backup (ADR 0091).
    const held = await backupBeforeRollout({ ...ctx, before }, views);
    if (held !== undefined) return held;
  }
  const completedNow = plan.action === 'none' && before.status === 'True';
  const condition = rotationCondition(plan, completedNow);
  const outcome = await execute(ctx, plan, pods, before);
  if (completedNow) {
    mustAct(ctx);
    await ctx.deps.recordEvent(event(cluster, 'Normal', 'RollingUpdateCompleted', 'every pod runs the desired template'));
    await ctx.deps.emit('dev.pgfn.rollingupdate.completed', subject(cluster), {
      namespace: cluster.metadata?.namespace,
      name: cluster.metadata?.name,
    });
  }
  return { outcome, condition };
}

function event(about: Cluster, type: 'Normal' | 'Warning', reason: string, message: string): EventRecord {
  return { about, type, reason, message };
}

function subject(cluster: Cluster): string {
  return `${cluster.metadata?.namespace ?? ''}/${cluster.metadata?.name ?? ''}`;
}

async function execute(ctx: StepContext, plan: RotationStep, pods: readonly V1Pod[], before: ConditionUpdate): Promise<AdvanceOutcome> {
  const { cluster } = ctx.live;
  const namespace = cluster.metadata?.namespace ?? '';
  switch (plan.action) {
    case 'none':
      return 'up-to-date';
    case 'wait':
      return 'waiting';
    case 'blocked':
    case 'fail': {
      const reason = plan.action === 'fail' ? 'RollingUpdateFailed' : 'RollingUpdateBlocked';
      // One Warning and one CloudEvent per distinct problem, not one per invocation.
      if (before.message?.includes(plan.reason) !== true) {
        mustAct(ctx);
        await ctx.deps.recordEvent(event(cluster, 'Warning', reason, plan.reason));
        if (plan.action === 'fail')
          await ctx.deps.emit('dev.pgfn.rollingupdate.failed', subject(cluster), {
            namespace,
            name: cluster.metadata?.name,
            pod: plan.pod,
            reason: plan.reason,
          });
      }
      return plan.action === 'fail' ? 'failed' : 'waiting';
    }
    case 'delete': {
      mustAct(ctx);
      const type = plan.downtime ? 'Warning' : 'Normal';
      const why = plan.downtime ? plan.reason : `recreating ${plan.role} ${plan.pod}: ${plan.reason}`;
      await ctx.deps.recordEvent(event(cluster, type, plan.downtime ? 'RecreatingSingleInstance' : 'RecreatingPod', why));
      await ctx.deps.kube.delete({ apiVersion: 'v1', kind: 'Pod', namespace, name: plan.pod });
      ctx.log.info({ pod: plan.pod, role: plan.role, downtime: plan.downtime }, 'deleted pod for rotation');
      return 'acted';
    }
    case 'switchover': {
      mustAct(ctx);
      const master = pods.find((p) => p.metadata?.name === plan.from);
      await ctx.deps.recordEvent(event(cluster, 'Normal', 'Switchover', `switching over from ${plan.from} to ${plan.to}: ${plan.reason}`));
      await ctx.deps.patroni.switchover(patroniUrl(master?.status?.podIP ?? '', ctx.deps.patroniPort), {
        leader: plan.from,
        candidate: plan.to,
      });
      ctx.log.info({ from: plan.from, to: plan.to }, 'switched over');
      return 'acted';
    }
  }
}
