// A base backup on request (ADR 0070): under the cluster's `<cluster>-backup` Lease, re-read the
// cluster and its archive; a request already answered is a no-op; otherwise exec Spilo's backup script
// in the master pod, find the backup it made in the archive, and say so on status (BackupRequested),
// as an Event, in metrics and as dev.pgfn.backup.completed (routed to the verification) or .failed.
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND, type Postgresql } from '@pgfn/api';
import { detectLayouts, openArchive, type BaseBackup, type ObjectStore } from '@pgfn/backup-store';
import {
  ClusterLease,
  clusterLeaseName,
  findMaster,
  setCondition,
  SPILO_BACKUP_COMMAND,
  type Kit,
  type Logger,
  type Outcome,
} from '@pgfn/fn-runtime';
import type { PodExec } from '@pgfn/kube';
import {
  answeredBy,
  BACKUP_REQUESTED_CONDITION,
  backupTakenSince,
  COMPLETED_TYPE,
  execError,
  lastLine,
  outcomeCondition,
  outcomeData,
  runningCondition,
  type BackupOutcome,
  type BackupRequest,
} from './backup-request.js';
import { archiveLocation } from './location.js';
import type { BackupMetrics } from './metrics.js';
import { FAILED_TYPE } from './result.js';

type Cluster = Postgresql &
  KubernetesObject & { status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] } };

export interface BackupRunDeps extends Pick<Kit, 'kube' | 'now' | 'recordEvent' | 'loadConfig' | 'emit'> {
  readonly stores: (bucket: string) => ObjectStore;
  readonly metrics: BackupMetrics;
  /** `kubectl exec` through the API server (pods/exec); without it requests fail with a message. */
  readonly exec?: PodExec;
}

/** The error a busy cluster answers with: the Broker redelivers, and the redelivery finds the request answered. */
export class BackupBusyError extends Error {}

async function readCluster(deps: BackupRunDeps, request: BackupRequest): Promise<Cluster | undefined> {
  return deps.kube.get<Cluster>({ apiVersion: API_VERSION, kind: POSTGRESQL_KIND, namespace: request.namespace, name: request.name });
}

async function completedBackups(store: ObjectStore, prefix: string): Promise<BaseBackup[]> {
  if ((await detectLayouts(store, prefix)).length === 0) return [];
  return (await openArchive({ store, prefix })).backups();
}

export async function takeRequestedBackup(o: {
  deps: BackupRunDeps;
  request: BackupRequest;
  holder: string;
  log: Logger;
}): Promise<Outcome> {
  const { deps, request, log } = o;
  const first = await readCluster(deps, request);
  if (first === undefined || first.metadata.deletionTimestamp !== undefined) return 'ignored';
  const { config } = await deps.loadConfig();
  const located = archiveLocation(first, config);
  const lease = new ClusterLease({
    kube: deps.kube,
    namespace: request.namespace,
    name: clusterLeaseName(request.name, 'backup'),
    holder: o.holder,
    durationSeconds: 60,
  });
  const held = await lease.hold(async () => {
    // Re-read under the Lease: an earlier holder may have answered this request meanwhile.
    const cluster = (await readCluster(deps, request)) ?? first;
    if ('unconfigured' in located) {
      const outcome: BackupOutcome = {
        ok: false,
        reason: 'NoArchive',
        detail: `no base backup: ${located.unconfigured}`,
        durationSeconds: 0,
      };
      await report({ deps, cluster, request, outcome, archive: '' });
      return 'ok' as const;
    }
    const { bucket, prefix } = located.location;
    const archive = `s3://${bucket}/${prefix}`;
    const store = deps.stores(bucket);
    const condition = cluster.status?.conditions?.find((c) => c.type === BACKUP_REQUESTED_CONDITION);
    // An archive that cannot be read now does not stop the backup (the script reports what it finds);
    // only the "a backup begun since" answer is skipped.
    const known = await completedBackups(store, prefix).catch((err: unknown) => {
      log.warn({ archive, err: err instanceof Error ? err.message : String(err) }, 'archive unreadable before the backup');
      return [];
    });
    const answered = answeredBy({ request, condition, backups: known });
    if (answered === 'condition') {
      log.info({ request: request.id, cluster: `${request.namespace}/${request.name}` }, 'backup request already answered');
      return 'ok' as const;
    }
    const outcome =
      answered !== undefined
        ? ({ ok: true, backup: answered, pod: '', durationSeconds: 0, earlier: true } as const)
        : await backUp({ deps, cluster, request, store, prefix, log });
    await report({ deps, cluster, request, outcome, archive });
    return 'ok' as const;
  });
  if (held === undefined)
    throw new BackupBusyError(`a base backup of ${request.namespace}/${request.name} is being taken; try again later`);
  return held.value;
}

async function backUp(o: {
  deps: BackupRunDeps;
  cluster: Cluster;
  request: BackupRequest;
  store: ObjectStore;
  prefix: string;
  log: Logger;
}): Promise<BackupOutcome> {
  const { deps, cluster, request } = o;
  const started = deps.now();
  const seconds = (): number => (deps.now().getTime() - started.getTime()) / 1000;
  if (deps.exec === undefined)
    return { ok: false, reason: 'NoExec', detail: 'this backup-verify instance cannot exec into pods', durationSeconds: 0 };
  const { config } = await deps.loadConfig();
  const found = await findMaster({ kube: deps.kube, cluster, config });
  const pod = found.master?.podName;
  if (pod === undefined) {
    return {
      ok: false,
      reason: 'NoMaster',
      detail: `no master pod to take the backup on (${found.reason ?? 'its pod is not named'})`,
      durationSeconds: 0,
    };
  }
  await setCondition({ kube: deps.kube, object: cluster, condition: runningCondition(request, pod), now: started });
  try {
    const ran = await deps.exec({ namespace: request.namespace, pod, container: 'postgres', command: SPILO_BACKUP_COMMAND });
    const output = `${ran.stdout}\n${ran.stderr}`;
    o.log.info({ pod, exitCode: ran.exitCode, output: output.slice(-2000) }, 'postgres_backup.sh on the master');
    if (ran.exitCode !== 0) {
      return {
        ok: false,
        reason: 'BackupFailed',
        detail: `postgres_backup.sh on ${pod} exited ${ran.exitCode}: ${lastLine(output)}`,
        pod,
        durationSeconds: seconds(),
      };
    }
    const taken = backupTakenSince(await completedBackups(o.store, o.prefix), started);
    if (taken === undefined) {
      const since = started.toISOString();
      const detail = `postgres_backup.sh on ${pod} ended, but no backup begun since ${since} is in the archive: ${lastLine(output)}`;
      return { ok: false, reason: 'NoBackupTaken', detail, pod, durationSeconds: seconds() };
    }
    return { ok: true, backup: taken, pod, durationSeconds: seconds(), earlier: false };
  } catch (err) {
    const detail = `exec into ${pod} failed: ${execError(err)}`;
    return { ok: false, reason: 'ExecFailed', detail, pod, durationSeconds: seconds() };
  }
}

async function report(o: {
  deps: BackupRunDeps;
  cluster: Cluster;
  request: BackupRequest;
  outcome: BackupOutcome;
  archive: string;
}): Promise<void> {
  const { deps, cluster, request, outcome } = o;
  const condition = outcomeCondition(request, outcome);
  await setCondition({ kube: deps.kube, object: cluster, condition, now: deps.now() });
  await deps.recordEvent({
    about: cluster,
    type: outcome.ok ? 'Normal' : 'Warning',
    reason: outcome.ok ? 'BackupCompleted' : 'BackupFailed',
    message: condition.message,
  });
  const label = outcome.ok ? 'completed' : 'failed';
  deps.metrics.requests.inc({ outcome: label, reason: condition.reason });
  if (!outcome.ok || !outcome.earlier) deps.metrics.requestDuration.observe({ outcome: label }, outcome.durationSeconds);
  const data = outcomeData({ request, outcome, archive: o.archive });
  await deps.emit(outcome.ok ? COMPLETED_TYPE : FAILED_TYPE, `${request.namespace}/${request.name}`, data);
}
