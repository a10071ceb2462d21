// The base backup rolling-update takes before a risky step (ADR 0073: before a major upgrade; ADR 0091:
// before the first rotation to a new Spilo image): Spilo's postgres_backup.sh exec'd in the primary,
// the path of a requested backup (ADR 0070). A backup taken is announced as dev.pgfn.backup.completed,
// which backup-verify's Trigger turns into a verification of it. Exit 0 is not taken as proof: Spilo's
// script exits 0 when it skips; a new backup history file in the primary's pg_wal is (ADR 0148).
import { SPILO_BACKUP_COMMAND, type Logger } from '@pgfn/fn-runtime';
import type { PodExec } from '@pgfn/kube';
import type { Cluster } from './cluster.js';
import type { RollingDeps } from './deps.js';
import { readPrimaryState, waitWritable } from './primary-state.js';

export type BaseBackupOutcome = { readonly ok: true; readonly seconds: number } | { readonly ok: false; readonly lastLine: string };

export interface BaseBackupRequest {
  readonly deps: RollingDeps;
  readonly cluster: Cluster;
  readonly log: Logger;
  readonly exec: PodExec;
  readonly primary: string;
  /** For the log, the CloudEvent's `reason` (e.g. "before a major version upgrade"). */
  readonly why: string;
  /** The CloudEvent's `requestId`. */
  readonly requestId: string;
}

export async function takeBaseBackup(o: BaseBackupRequest): Promise<BaseBackupOutcome> {
  const namespace = o.cluster.metadata?.namespace ?? '';
  const pod = { namespace, name: o.primary };
  const started = Date.now();
  // Spilo's script skips a server in recovery and still exits 0, so it runs only once the primary is writable.
  const before = await waitWritable(o.exec, pod, { timeoutMs: o.deps.podTimeoutMs });
  if (before === undefined) {
    const seconds = Math.round(o.deps.podTimeoutMs / 1000);
    return { ok: false, lastLine: `PostgreSQL on ${o.primary} did not answer as a writable primary within ${seconds} s` };
  }
  const ran = await o
    .exec({ namespace, pod: o.primary, container: 'postgres', command: SPILO_BACKUP_COMMAND })
    .catch((err: unknown) => ({ exitCode: -1, stdout: '', stderr: err instanceof Error ? err.message : String(err) }));
  const output = `${ran.stdout}\n${ran.stderr}`.trim();
  const lastLine = output.split('\n').pop() ?? '';
  o.log.info({ exitCode: ran.exitCode, output: output.slice(-2000) }, `base backup ${o.why}`);
  if (ran.exitCode !== 0) return { ok: false, lastLine };
  const after = await readPrimaryState(o.exec, pod).catch(() => undefined);
  const written = after?.backupHistory.filter((name) => !before.backupHistory.includes(name)) ?? [];
  if (written.length === 0) {
    const seen = after === undefined ? 'its pg_wal could not be read afterwards' : 'no new backup history file in its pg_wal';
    return { ok: false, lastLine: `postgres_backup.sh exited 0 but took no backup (${seen}): ${lastLine}` };
  }
  await o.deps.emit('dev.pgfn.backup.completed', `${namespace}/${o.cluster.metadata?.name ?? ''}`, {
    namespace,
    name: o.cluster.metadata?.name,
    requestId: o.requestId,
    outcome: 'completed',
    pod: o.primary,
    reason: o.why,
  });
  return { ok: true, seconds: (Date.now() - started) / 1000 };
}
