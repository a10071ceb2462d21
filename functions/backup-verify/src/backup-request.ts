// Base backups on request (pure, ADR 0070): what a `dev.pgfn.backup.requested` event asks for, whether
// an earlier backup already answers it, the command Spilo's cron runs, and what the outcome says on the
// cluster's status and in `dev.pgfn.backup.completed` / `dev.pgfn.backup.failed`.
import type { CloudEventV1 } from 'cloudevents';
import type { BaseBackup } from '@pgfn/backup-store';
import type { ConditionInput } from '@pgfn/fn-runtime';
import { formatBytes } from './inventory.js';

export const REQUESTED_TYPE = 'dev.pgfn.backup.requested';
export const COMPLETED_TYPE = 'dev.pgfn.backup.completed';
export const BACKUP_REQUESTED_CONDITION = 'BackupRequested';

export interface BackupRequest {
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  /** When it was asked for (the event's `time`); a backup begun at or after it answers it. */
  readonly at: Date | undefined;
}

/** The request an event carries, or why it carries none. */
export function requestOf(event: CloudEventV1<unknown>): BackupRequest | { readonly invalid: string } {
  const match = /^([^/]+)\/([^/]+)$/.exec(event.subject ?? '');
  if (match === null) return { invalid: `${REQUESTED_TYPE} without a <namespace>/<cluster> subject` };
  const at = event.time === undefined ? undefined : new Date(event.time);
  return {
    id: event.id,
    namespace: match[1] as string,
    name: match[2] as string,
    at: at === undefined || Number.isNaN(at.getTime()) ? undefined : at,
  };
}

/** The request id a BackupRequested condition's message starts with (`request <id>: …`). */
export function requestIdOf(message: string | undefined): string | undefined {
  return /^request (\S+):/.exec(message ?? '')?.[1];
}

/**
 * An earlier backup that answers the request: the condition already settled this request id, or a
 * completed backup began at or after the request's time (a duplicate, or a request overtaken by a later one).
 */
export function answeredBy(o: {
  request: BackupRequest;
  condition: { status: string; message?: string } | undefined;
  backups: readonly BaseBackup[];
}): 'condition' | BaseBackup | undefined {
  const c = o.condition;
  if (c !== undefined && c.status !== 'Unknown' && requestIdOf(c.message) === o.request.id) return 'condition';
  const at = o.request.at;
  if (at === undefined) return undefined;
  return [...o.backups].reverse().find((b) => b.startTime !== undefined && b.startTime.getTime() >= at.getTime());
}

/** The backup the command made: the newest completed one that began after the command started (clock slack of a second). */
export function backupTakenSince(backups: readonly BaseBackup[], since: Date): BaseBackup | undefined {
  return [...backups].reverse().find((b) => b.startTime !== undefined && b.startTime.getTime() >= since.getTime() - 1000);
}

export type BackupOutcome =
  | { readonly ok: true; readonly backup: BaseBackup; readonly pod: string; readonly durationSeconds: number; readonly earlier: boolean }
  | { readonly ok: false; readonly reason: string; readonly detail: string; readonly pod?: string; readonly durationSeconds: number };

function describe(b: BaseBackup): string {
  return `base backup ${b.id} (${b.startLsn} to ${b.finishLsn}, ${formatBytes(b.storedBytes)} stored)`;
}

export function runningCondition(request: BackupRequest, pod: string): ConditionInput {
  return {
    type: BACKUP_REQUESTED_CONDITION,
    status: 'Unknown',
    reason: 'Running',
    message: `request ${request.id}: base backup running on ${pod}`,
  };
}

export function outcomeCondition(request: BackupRequest, outcome: BackupOutcome): ConditionInput {
  if (!outcome.ok) {
    return {
      type: BACKUP_REQUESTED_CONDITION,
      status: 'False',
      reason: outcome.reason,
      message: `request ${request.id}: ${outcome.detail}`,
    };
  }
  const how = outcome.earlier
    ? `answered by ${describe(outcome.backup)}, begun after the request`
    : `${describe(outcome.backup)} taken on ${outcome.pod} in ${outcome.durationSeconds.toFixed(1)} s`;
  return { type: BACKUP_REQUESTED_CONDITION, status: 'True', reason: 'Completed', message: `request ${request.id}: ${how}` };
}

/** `data` of dev.pgfn.backup.completed / dev.pgfn.backup.failed (schema in the function's README). */
export function outcomeData(o: { request: BackupRequest; outcome: BackupOutcome; archive: string }): Record<string, unknown> {
  const { request, outcome } = o;
  const common = { namespace: request.namespace, name: request.name, requestId: request.id, archive: o.archive };
  if (!outcome.ok) {
    return {
      ...common,
      outcome: 'backup-failed',
      reason: outcome.reason,
      message: outcome.detail,
      pod: outcome.pod ?? null,
      durationSeconds: outcome.durationSeconds,
    };
  }
  const b = outcome.backup;
  return {
    ...common,
    outcome: 'completed',
    pod: outcome.pod,
    backup: {
      id: b.id,
      startTime: b.startTime?.toISOString() ?? null,
      finishTime: b.finishTime.toISOString(),
      startLsn: b.startLsn,
      finishLsn: b.finishLsn,
      storedBytes: b.storedBytes,
    },
    earlier: outcome.earlier,
    durationSeconds: outcome.durationSeconds,
  };
}

/** The last meaningful line of a script's output (its own log line), for a failure message. */
export function lastLine(output: string): string {
  const lines = output
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return (lines.pop() ?? '').slice(0, 500);
}

/** The client rejects with an Error, or with the WebSocket's error event (an object with a message). */
export function execError(err: unknown): string {
  if (err instanceof Error) return err.message;
  const message = (err as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : String(err);
}
