// One CloudEvent -> verification of the clusters it concerns (all of them on the hourly ping), at most
// `policy.concurrency` at once, each under its cluster's Lease so two invocations never verify the
// same cluster together. Events are hints: clusters are re-read, the configuration is at most 10 s old.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { detectLayouts, openArchive, type ObjectStore } from '@pgfn/backup-store';
import {
  ClusterLease,
  clusterLeaseName,
  isNamespaceTerminating,
  mapLimited,
  RetryableError,
  setCondition,
  watches,
  type EventHandler,
  type Kit,
  type Logger,
} from '@pgfn/fn-runtime';
import type { PodExec } from '@pgfn/kube';
import { REQUESTED_TYPE, requestOf } from './backup-request.js';
import { takeRequestedBackup } from './backup-run.js';
import { targetOf } from './events.js';
import { checkInventory, type InventoryResult } from './inventory.js';
import { archiveLocation, logicalLocation } from './location.js';
import { checkLogical, type LogicalResult } from './logical.js';
import { restoreLogical } from './logical-restore.js';
import type { BackupMetrics } from './metrics.js';
import type { BackupPolicy } from './policy.js';
import type { RestoreSlots } from './restore-slots.js';
import { restoreInTurn } from './restore-turn.js';
import { BACKUP_VERIFIED_CONDITION, conditionOf, eventData, FAILED_TYPE, passed, VERIFIED_TYPE, type Verification } from './result.js';

type Cluster = Postgresql & KubernetesObject & { status?: { conditions?: { type: string; status: string; reason?: string }[] } };

export interface HandlerDeps extends Pick<Kit, 'kube' | 'now' | 'recordEvent' | 'loadConfig' | 'emit'> {
  readonly watchedNamespace: string | undefined;
  readonly stores: (bucket: string) => ObjectStore;
  readonly policy: BackupPolicy;
  readonly metrics: BackupMetrics;
  /** Lease holder prefix (default the host name); the event id is appended. */
  readonly holder?: string;
  /** `kubectl exec` into the master pod for base backups on request (ADR 0070). */
  readonly exec?: PodExec;
  /** The fleet's restore-test queue (ADR 0071); without it restore tests are limited per invocation only. */
  readonly slots?: RestoreSlots;
}

/**
 * A configuration read this recently serves a cluster's check: a burst of new clusters (one cluster.ready
 * each) or the hourly ping over a fleet would otherwise read and parse it once per cluster (ADR 0134).
 */
export const CONFIG_MAX_AGE_MS = 10_000;

type ClusterOutcome = 'verified' | 'failed' | 'pending' | 'busy' | 'unconfigured' | 'gone';

export function createHandler(deps: HandlerDeps): EventHandler {
  return async (event, { log }) => {
    if (event.type === REQUESTED_TYPE) {
      const request = requestOf(event);
      if ('invalid' in request) {
        log.warn({ id: event.id }, request.invalid);
        return 'ignored';
      }
      // Unique per delivery: two copies of one request (same id) must not both hold the cluster's Lease.
      const holder = `${deps.holder ?? hostname()}/${event.id}/${randomUUID().slice(0, 8)}`;
      return takeRequestedBackup({ deps, request, holder, log });
    }
    const target = targetOf(event);
    if (target.scope === 'ignore') return 'ignored';
    if (target.scope === 'cluster' && !watches(deps.watchedNamespace, target.namespace)) return 'ignored';
    const clusters =
      target.scope === 'all'
        ? await deps.kube.list<Cluster>(API_VERSION, POSTGRESQL_KIND, deps.watchedNamespace)
        : [
            await deps.kube.get<Cluster>({
              apiVersion: API_VERSION,
              kind: POSTGRESQL_KIND,
              namespace: target.namespace,
              name: target.name,
            }),
          ];
    const holder = `${deps.holder ?? hostname()}/${event.id}`;
    const outcomes = await mapLimited(clusters, deps.policy.concurrency, (c) =>
      c === undefined ? Promise.resolve<ClusterOutcome>('gone') : verifyCluster({ deps, cluster: c, holder, log }),
    );
    log.info({ clusters: clusters.length, outcomes: tally(outcomes) }, 'backups verified');
    if (target.scope === 'cluster' && (outcomes[0] === 'gone' || outcomes[0] === 'unconfigured')) return 'ignored';
    // A request for one cluster whose Lease someone holds (another instance, or one that died holding
    // it) is not done: 503, so the Broker redelivers until the Lease is free or expired. A ping is
    // periodic and covers it next time.
    if (target.scope === 'cluster' && outcomes[0] === 'busy')
      throw new RetryableError(`${target.namespace}/${target.name}: another holder has its Lease; retry later`);
    return 'ok';
  };
}

function tally(outcomes: readonly ClusterOutcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) out[o] = (out[o] ?? 0) + 1;
  return out;
}

async function verifyCluster(o: { deps: HandlerDeps; cluster: Cluster; holder: string; log: Logger }): Promise<ClusterOutcome> {
  const { deps, cluster, log } = o;
  const namespace = cluster.metadata.namespace ?? '';
  const name = cluster.metadata.name ?? '';
  const { config } = await deps.loadConfig(CONFIG_MAX_AGE_MS);
  const located = archiveLocation(cluster, config);
  if ('unconfigured' in located) {
    log.debug({ namespace, name, why: located.unconfigured }, 'no archive to verify');
    return 'unconfigured';
  }
  // A cluster being deleted, alone or with its namespace, has nothing left to verify.
  if (cluster.metadata.deletionTimestamp !== undefined) return 'gone';
  try {
    return await verifyHeld({ ...o, located: located.location, config, namespace, name });
  } catch (err) {
    // The API server refuses the Lease (or the Event) in a namespace being deleted: the cluster goes with it.
    if (!isNamespaceTerminating(err)) throw err;
    log.debug({ namespace, name }, 'namespace is being deleted; nothing to verify');
    return 'gone';
  }
}

async function verifyHeld(o: {
  deps: HandlerDeps;
  cluster: Cluster;
  holder: string;
  located: { bucket: string; prefix: string };
  config: OperatorConfig;
  namespace: string;
  name: string;
}): Promise<ClusterOutcome> {
  const { deps, cluster, namespace, name, config, located } = o;
  const lease = new ClusterLease({
    kube: deps.kube,
    namespace,
    name: clusterLeaseName(name, 'backup-verify'),
    holder: o.holder,
    durationSeconds: 60,
    now: deps.now,
  });
  const held = await lease.hold(async (signal) => {
    const started = performance.now();
    const archive = `s3://${located.bucket}/${located.prefix}`;
    const created = cluster.metadata.creationTimestamp === undefined ? undefined : new Date(cluster.metadata.creationTimestamp);
    const store = deps.stores(located.bucket);
    const inventory = await readInventory({ deps, store, prefix: located.prefix, clusterCreated: created });
    const turn =
      inventory.ok && deps.policy.restoreTest
        ? await restoreInTurn({
            kube: deps.kube,
            cluster,
            config,
            timeoutSeconds: deps.policy.restoreTimeoutSeconds,
            signal,
            slots: deps.slots,
            holder: o.holder,
            emit: deps.emit,
          })
        : undefined;
    const logicalAt = logicalLocation(cluster, config);
    const fresh = logicalAt === undefined ? undefined : await readLogical({ deps, ...logicalAt });
    const logical =
      fresh?.ok === true && logicalAt !== undefined
        ? await restoreNewestDump({ deps, cluster, config, bucket: logicalAt.location.bucket, fresh })
        : fresh;
    const durationSeconds = (performance.now() - started) / 1000;
    const verification: Verification = {
      namespace,
      name,
      archive,
      inventory,
      ...(logical === undefined ? {} : { logical }),
      ...(turn === undefined ? {} : 'ran' in turn ? { restore: turn.ran } : { restoreQueued: turn.queued }),
      durationSeconds,
    };
    await report({ deps, cluster, verification });
    return passed(verification) ? 'verified' : inventory.pending === true ? 'pending' : 'failed';
  });
  return held?.value ?? 'busy';
}

/** The archive's inventory; an unreadable archive (no such bucket, credentials refused) is a failed check that says so. */
async function readInventory(o: {
  deps: HandlerDeps;
  store: ObjectStore;
  prefix: string;
  clusterCreated: Date | undefined;
}): Promise<InventoryResult> {
  const check = { now: o.deps.now(), policy: o.deps.policy, clusterCreated: o.clusterCreated };
  try {
    // Nothing archived yet (a new cluster): no backups, no WAL.
    if ((await detectLayouts(o.store, o.prefix)).length === 0) return checkInventory({ backups: [], segments: [], ...check });
    const archive = await openArchive({ store: o.store, prefix: o.prefix });
    const [backups, segments] = await Promise.all([archive.backups(), archive.walSegments()]);
    return checkInventory({ backups, segments, ...check });
  } catch (err) {
    const detail = `the archive could not be read: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, reason: 'ArchiveUnreadable', detail, segmentsChecked: 0 };
  }
}

/** The newest logical dump against its schedule; an unreadable bucket is a missing dump that says why. */
async function readLogical(o: {
  deps: HandlerDeps;
  location: { bucket: string; prefix: string };
  schedule: string;
}): Promise<LogicalResult> {
  try {
    const objects = await o.deps.stores(o.location.bucket).list(`${o.location.prefix}/`);
    const dumps = objects.map((x) => ({ key: x.key, storedBytes: x.size }));
    return checkLogical({ dumps, schedule: o.schedule, now: o.deps.now() });
  } catch (err) {
    const detail = `the logical backups could not be listed: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, reason: 'LogicalBackupMissing', detail };
  }
}

/** The fresh dump restored into a scratch database (unless turned off or without exec); a failure is the logical check's. */
async function restoreNewestDump(o: {
  deps: HandlerDeps;
  cluster: Cluster;
  config: OperatorConfig;
  bucket: string;
  fresh: LogicalResult;
}): Promise<LogicalResult> {
  const { deps, fresh } = o;
  if (!deps.policy.logicalRestoreTest || deps.exec === undefined || fresh.dump === undefined) return fresh;
  const restored = await restoreLogical({
    kube: deps.kube,
    exec: deps.exec,
    cluster: o.cluster,
    config: o.config,
    store: deps.stores(o.bucket),
    key: fresh.dump.key,
  });
  deps.metrics.logicalRestoreDuration.observe({ outcome: restored.ok ? 'restored' : 'failed' }, restored.durationSeconds);
  if (restored.ok) return { ...fresh, detail: `${fresh.detail}, ${restored.detail}` };
  return {
    ...fresh,
    ok: false,
    reason: 'LogicalRestoreFailed',
    detail: `${fresh.detail}: the restore into a scratch database failed: ${restored.detail}`,
  };
}

/** Condition (re-read object, guarded write), an Event when the verdict changes or fails, metrics, CloudEvent. */
async function report(o: { deps: HandlerDeps; cluster: Cluster; verification: Verification }): Promise<void> {
  const { deps, cluster, verification: v } = o;
  const condition = conditionOf(v);
  const previous = cluster.status?.conditions?.find((c) => c.type === BACKUP_VERIFIED_CONDITION);
  await setCondition({ kube: deps.kube, object: cluster, condition, now: deps.now() });
  const ok = passed(v);
  const pending = v.inventory.pending === true;
  if ((!ok && !pending) || previous?.status !== condition.status || previous.reason !== condition.reason) {
    await deps.recordEvent({
      about: cluster,
      type: ok || pending ? 'Normal' : 'Warning',
      reason: ok ? 'BackupVerified' : pending ? 'AwaitingFirstBackup' : 'BackupVerificationFailed',
      message: condition.message,
    });
  }
  const outcome = ok ? 'verified' : pending ? 'pending' : 'failed';
  if (v.inventory.backup !== undefined) deps.metrics.age.set({ namespace: v.namespace, cluster: v.name }, v.inventory.backup.ageSeconds);
  deps.metrics.duration.observe({ outcome }, v.durationSeconds);
  deps.metrics.outcomes.inc({ outcome, reason: condition.reason });
  // A new cluster awaiting its first backup is not news for subscribers.
  if (pending) return;
  await deps.emit(ok ? VERIFIED_TYPE : FAILED_TYPE, `${v.namespace}/${v.name}`, eventData(v));
}
