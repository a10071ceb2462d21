// The major version upgrade as upstream runs it (majorversionupgrade.go), once the pods carry the new
// PGVERSION: decide (major-upgrade-plan.ts); label every pod critical-operation=true; exec Spilo's
// inplace_upgrade.py on the primary (pg_upgrade --link, Patroni paused; its container restarts on the
// new binaries); re-sync the replicas (data emptied, restarted containers clone the upgraded primary);
// resume Patroni; annotate the postgresql with last-major-upgrade-success or -failure; Events and
// CloudEvents. The upgrade runs in one invocation, as upstream's does; each wait is bounded by podTimeoutMs.
import type { V1Pod } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND } from '@pgfn/api';
import type { EventRecord } from '@pgfn/fn-runtime';
import type { PodExec } from '@pgfn/kube';
import { patroniUrl, type ClusterMember, type MemberStatus } from '@pgfn/patroni';
import { takeBaseBackup } from './base-backup.js';
import { waitWritable } from './primary-state.js';
import type { Cluster } from './cluster.js';
import type { ConditionUpdate } from './conditions.js';
import type { RollingDeps } from './deps.js';
import { mustAct } from './would-act.js';
import { decideMajorUpgrade, UPGRADE_FAILURE_ANNOTATION, UPGRADE_SUCCESS_ANNOTATION, type UpgradeDecision } from './major-upgrade-plan.js';
import type { ConditionStepContext } from './step-context.js';

export const MAJOR_UPGRADE = 'MajorVersionUpgrade';
const CRITICAL_OPERATION = 'critical-operation';
const REASON = 'MajorVersionUpgrade';

export interface UpgradeResult {
  readonly condition: ConditionUpdate | undefined;
  readonly acted: boolean;
}

/** Upstream's annotation timestamp format (Go's 2006-01-02T15:04:05Z). */
function stamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function event(about: Cluster, type: 'Normal' | 'Warning', message: string): EventRecord {
  return { about, type, reason: REASON, message };
}

function clusterRef(cluster: Cluster): { apiVersion: string; kind: string; namespace: string; name: string } {
  return {
    apiVersion: API_VERSION,
    kind: POSTGRESQL_KIND,
    namespace: cluster.metadata?.namespace ?? '',
    name: cluster.metadata?.name ?? '',
  };
}

export async function majorUpgrade(ctx: ConditionStepContext, base: string, members: readonly ClusterMember[]): Promise<UpgradeResult> {
  const { deps, live } = ctx;
  const { cluster } = live;
  const primary = await deps.patroni.member(base).catch(() => undefined);
  const inputs = {
    cluster,
    config: ctx.config,
    runningVersionNum: primary?.server_version,
    members,
    podCount: live.pods.length,
    now: deps.now(),
  };
  let decision = decideMajorUpgrade(inputs);
  // Only an upgrade about to start asks every member itself (one request per pod).
  if (decision.action === 'upgrade' || decision.action === 'fail') {
    decision = decideMajorUpgrade({ ...inputs, members: await ownStates(ctx, members, primary?.replication) });
  }
  const changed = (c: ConditionUpdate): boolean => c.message !== ctx.before.message || c.reason !== ctx.before.reason;
  switch (decision.action) {
    case 'none':
      if (decision.clearFailure === true) {
        mustAct(ctx);
        await deps.kube.patchMetadata(clusterRef(cluster), { annotations: { [UPGRADE_FAILURE_ANNOTATION]: null } });
      }
      return { condition: undefined, acted: false };
    case 'refuse':
    case 'defer': {
      const condition: ConditionUpdate = {
        type: MAJOR_UPGRADE,
        status: 'False',
        reason: decision.action === 'refuse' ? 'Refused' : 'Deferred',
        message: decision.reason,
      };
      if (changed(condition)) {
        mustAct(ctx);
        await deps.recordEvent(event(cluster, decision.action === 'refuse' ? 'Warning' : 'Normal', decision.reason));
      }
      return { condition, acted: false };
    }
    case 'fail':
      mustAct(ctx);
      return { condition: await failed(ctx, decision.reason), acted: true };
    case 'upgrade':
      mustAct(ctx);
      return { condition: await run(ctx, decision), acted: true };
  }
}

/**
 * Each member as it answers itself (upstream asks every pod's Patroni): the DCS keeps a crashed
 * member's last record. A replica must also stream from the primary (its pg_stat_replication).
 */
async function ownStates(
  ctx: ConditionStepContext,
  members: readonly ClusterMember[],
  replication: MemberStatus['replication'],
): Promise<ClusterMember[]> {
  const streaming = new Set((replication ?? []).filter((r) => r.state === 'streaming').map((r) => r.application_name));
  return Promise.all(
    members.map(async (m) => {
      const ip = ctx.live.pods.find((p) => p.metadata?.name === m.name)?.status?.podIP;
      const own = ip === undefined ? undefined : await ctx.deps.patroni.member(patroniUrl(ip, ctx.deps.patroniPort)).catch(() => undefined);
      if (own === undefined) return { ...m, state: 'unreachable' };
      const leader = ['leader', 'master', 'primary', 'standby_leader'].includes(m.role);
      return { ...m, state: !leader && !streaming.has(m.name) ? 'not streaming' : own.state };
    }),
  );
}

async function failed(ctx: ConditionStepContext, reason: string): Promise<ConditionUpdate> {
  const { deps, live } = ctx;
  const { cluster } = live;
  await deps.kube.patchMetadata(clusterRef(cluster), { annotations: { [UPGRADE_FAILURE_ANNOTATION]: stamp(deps.now()) } });
  await deps.recordEvent(event(cluster, 'Warning', reason));
  await deps.emit('dev.pgfn.upgrade.failed', subject(cluster), {
    namespace: cluster.metadata?.namespace,
    name: cluster.metadata?.name,
    reason,
  });
  return { type: MAJOR_UPGRADE, status: 'False', reason: 'Failed', message: reason };
}

function subject(cluster: Cluster): string {
  return `${cluster.metadata?.namespace ?? ''}/${cluster.metadata?.name ?? ''}`;
}

async function label(ctx: ConditionStepContext, pods: readonly V1Pod[], value: string | null): Promise<void> {
  for (const pod of pods) {
    await ctx.deps.kube.patchMetadata(
      { apiVersion: 'v1', kind: 'Pod', namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '' },
      { labels: { [CRITICAL_OPERATION]: value } },
    );
  }
}

/** upstream's command line, as the postgres user (Spilo runs as root). */
function asPostgres(script: string): string[] {
  return ['/bin/su', 'postgres', '-c', `set -o pipefail && ${script} 2>&1 | tee last_upgrade.log`];
}

async function run(ctx: ConditionStepContext, decision: Extract<UpgradeDecision, { action: 'upgrade' }>): Promise<ConditionUpdate> {
  const { deps, live, log } = ctx;
  const { cluster, pods } = live;
  const exec: PodExec | undefined = deps.exec;
  const namespace = cluster.metadata?.namespace ?? '';
  const container = 'postgres';
  if (exec === undefined) return failed(ctx, 'this rolling-update instance cannot exec into pods');
  const { from, to, primary } = decision;
  await label(ctx, pods, 'true');
  try {
    const backup = await backupFirst(ctx, { exec, primary, from, to });
    if (backup !== undefined) return await failed(ctx, backup);
    await deps.recordEvent(event(cluster, 'Normal', `starting major version upgrade on pod ${primary} of ${pods.length} pods`));
    const started = Date.now();
    const restartsBefore = restartCount(pods.find((p) => p.metadata?.name === primary));
    const upgraded = await exec({
      namespace,
      pod: primary,
      container,
      command: asPostgres(`/usr/bin/python3 /scripts/inplace_upgrade.py ${pods.length}`),
    });
    log.info({ exitCode: upgraded.exitCode, output: upgraded.stdout.slice(-2000) }, 'inplace_upgrade.py on the primary');
    if (upgraded.exitCode !== 0) {
      const last = upgraded.stdout.trim().split('\n').pop() ?? '';
      return await failed(ctx, `upgrade from ${from} to ${to} FAILED: ${last.replace(/^\S+ \S+ inplace_upgrade: /, '')}`);
    }
    const replicas = pods.filter((p) => p.metadata?.name !== primary);
    for (const replica of replicas) {
      const reset = await exec({
        namespace,
        pod: replica.metadata?.name ?? '',
        container,
        command: asPostgres('/usr/bin/python3 /scripts/inplace_upgrade.py --reset-replica'),
      });
      if (reset.exitCode !== 0)
        log.warn({ pod: replica.metadata?.name, output: reset.stdout }, 'replica reset failed; the replica may need a reinit');
    }
    // The restarted primary container runs the new major's binaries (its data directory says which); then Patroni resumes.
    const resumed = await resume(ctx, primary, restartsBefore);
    if (!resumed) return await failed(ctx, `upgrade from ${from} to ${to}: the primary ${primary} did not come back on PostgreSQL ${to}`);
    const healthy = await waitHealthy(ctx, { primary, to });
    if (!healthy) return await failed(ctx, `upgrade from ${from} to ${to}: the replicas did not re-sync in time`);
    await deps.kube.patchMetadata(clusterRef(cluster), {
      annotations: { [UPGRADE_SUCCESS_ANNOTATION]: stamp(deps.now()), [UPGRADE_FAILURE_ANNOTATION]: null },
    });
    const upgradedIn = ((Date.now() - started) / 1000).toFixed(1);
    const analyzed = await analyze(ctx, { exec, primary });
    const message = `upgrade from ${from} to ${to} finished in ${upgradedIn} s; ${analyzed}`;
    await deps.recordEvent(event(cluster, 'Normal', message));
    await deps.emit('dev.pgfn.upgrade.completed', subject(cluster), { namespace, name: cluster.metadata?.name, from, to });
    return { type: MAJOR_UPGRADE, status: 'False', reason: 'Completed', message };
  } finally {
    const current = await deps.kube.list<V1Pod>('v1', 'Pod', namespace, `cluster-name=${cluster.metadata?.name ?? ''}`).catch(() => []);
    await label(ctx, current, null).catch(() => undefined);
  }
}

/**
 * Where the cluster archives (wal_s3_bucket), a base backup first (base-backup.ts); a failed backup
 * stops the upgrade before anything changed. Returns the failure, or undefined to go on.
 */
async function backupFirst(
  ctx: ConditionStepContext,
  o: { exec: PodExec; primary: string; from: number; to: number },
): Promise<string | undefined> {
  const { deps, live } = ctx;
  if (!ctx.config.walS3Bucket) return undefined;
  const taken = await takeBaseBackup({
    deps,
    cluster: live.cluster,
    log: ctx.log,
    exec: o.exec,
    primary: o.primary,
    why: 'before a major version upgrade',
    requestId: `major-upgrade-${o.from}-${o.to}-${stamp(deps.now())}`,
  });
  if (!taken.ok)
    return `upgrade from ${o.from} to ${o.to} not started: the base backup before it failed on ${o.primary}: ${taken.lastLine}`;
  const seconds = taken.seconds.toFixed(1);
  await deps.recordEvent(event(live.cluster, 'Normal', `base backup before the upgrade from ${o.from} to ${o.to} taken in ${seconds} s`));
  return undefined;
}

/**
 * pg_upgrade carries no planner statistics: ANALYZE every database, in stages so the planner has
 * rough figures at once (Spilo's inplace_upgrade.py analyzes after the upgrade too). A failure is
 * reported, not undone: the upgrade itself succeeded.
 */
async function analyze(ctx: ConditionStepContext, o: { exec: PodExec; primary: string }): Promise<string> {
  const namespace = ctx.live.cluster.metadata?.namespace ?? '';
  // Patroni reports the restarted primary running before Postgres has left recovery (a lone member has
  // no replica to wait for): ANALYZE needs it writable.
  await waitWritable(o.exec, { namespace, name: o.primary }, { timeoutMs: ctx.deps.podTimeoutMs });
  const started = Date.now();
  const command = ['/bin/su', 'postgres', '-c', 'vacuumdb -h /run/postgresql --all --analyze-in-stages'];
  const ran = await o
    .exec({ namespace, pod: o.primary, container: 'postgres', command })
    .catch((err: unknown) => ({ exitCode: -1, stdout: '', stderr: err instanceof Error ? err.message : String(err) }));
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (ran.exitCode === 0) return `ANALYZE of every database in ${seconds} s`;
  const last = `${ran.stdout}\n${ran.stderr}`.trim().split('\n').pop() ?? '';
  const message = `ANALYZE after the upgrade failed (run vacuumdb --all --analyze-in-stages): ${last}`;
  ctx.log.warn({ exitCode: ran.exitCode, output: ran.stderr.slice(-2000) }, 'ANALYZE after the major upgrade');
  await ctx.deps.recordEvent(event(ctx.live.cluster, 'Warning', message));
  return message;
}

async function pollUntil(deps: RollingDeps, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + deps.podTimeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return false;
}

function restartCount(pod: V1Pod | undefined): number {
  return pod?.status?.containerStatuses?.reduce((n, c) => n + c.restartCount, 0) ?? 0;
}

/** The pod's address once it runs, and only after its containers restarted more than `restartsAbove` times. */
async function podIP(ctx: ConditionStepContext, name: string, restartsAbove = -1): Promise<string | undefined> {
  const namespace = ctx.live.cluster.metadata?.namespace ?? '';
  const pod = await ctx.deps.kube.get<V1Pod>({ apiVersion: 'v1', kind: 'Pod', namespace, name });
  const running = pod?.metadata?.deletionTimestamp === undefined && pod?.status?.phase === 'Running';
  return running && restartCount(pod) > restartsAbove ? pod?.status?.podIP : undefined;
}

/** Waits for the restarted primary's Patroni (never the old one), then lifts the pause inplace_upgrade.py set. */
async function resume(ctx: ConditionStepContext, primary: string, restartsBefore: number): Promise<boolean> {
  const { deps } = ctx;
  return pollUntil(deps, async () => {
    const ip = await podIP(ctx, primary, restartsBefore);
    if (ip === undefined) return false;
    await deps.patroni.patchConfig(patroniUrl(ip, deps.patroniPort), { pause: false });
    return true;
  });
}

async function waitHealthy(ctx: ConditionStepContext, want: { primary: string; to: number }): Promise<boolean> {
  const { deps, live } = ctx;
  return pollUntil(deps, async () => {
    const ip = await podIP(ctx, want.primary);
    if (ip === undefined) return false;
    const base = patroniUrl(ip, deps.patroniPort);
    const status = await deps.patroni.member(base);
    if (Math.floor((status.server_version ?? 0) / 10000) !== want.to) return false;
    const view = await deps.patroni.cluster(base);
    return view.members.length === live.pods.length && view.members.every((m) => m.state === 'running' || m.state === 'streaming');
  });
}
