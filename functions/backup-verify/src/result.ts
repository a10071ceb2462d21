// What a verification says where users look (pure): the BackupVerified condition, the Event, and the
// data of dev.pgfn.backup.verified / dev.pgfn.backup.failed (schema in the README's event table).
import type { ConditionInput } from '@pgfn/fn-runtime';
import { formatAge, formatBytes, type InventoryResult } from './inventory.js';
import type { LogicalResult } from './logical.js';
import type { RestoreResult } from './restore-run.js';

export const BACKUP_VERIFIED_CONDITION = 'BackupVerified';
export const VERIFIED_TYPE = 'dev.pgfn.backup.verified';
export const FAILED_TYPE = 'dev.pgfn.backup.failed';

/** A verification's outcome: the inventory, and (when one ran) the restore test. */
export interface Verification {
  readonly namespace: string;
  readonly name: string;
  readonly archive: string;
  readonly inventory: InventoryResult;
  /** When the cluster has logical backups. */
  readonly logical?: LogicalResult;
  /** When one ran. */
  readonly restore?: RestoreResult;
  /** When the restore test waits for one of the fleet's slots (ADR 0071): its place in the queue. */
  readonly restoreQueued?: { readonly position: number; readonly waiting: number };
  readonly durationSeconds: number;
}

/** Both checks passed (a cluster without logical backups passes that one). */
export function passed(v: Verification): boolean {
  return v.inventory.ok && (v.restore?.ok ?? true) && (v.logical?.ok ?? true);
}

/** The reason and sentence of the first failed check, else of the inventory. */
function headline(v: Verification): { reason: string; detail: string } {
  if (v.inventory.ok && v.restore !== undefined && !v.restore.ok) return { reason: v.restore.reason, detail: v.restore.detail };
  if (!v.inventory.ok || v.logical === undefined || v.logical.ok) return { reason: v.inventory.reason, detail: v.inventory.detail };
  return { reason: v.logical.reason, detail: v.logical.detail };
}

export function conditionOf(v: Verification): ConditionInput {
  const inv = v.inventory;
  const parts: string[] = [];
  if (inv.backup !== undefined) {
    parts.push(`base backup ${inv.backup.id}, ${formatAge(inv.backup.ageSeconds)} old, ${formatBytes(inv.backup.storedBytes)} stored`);
  }
  if (inv.reached !== undefined)
    parts.push(`recoverable to ${inv.reached.lsn} (segment ${inv.reached.segment}, archived ${inv.reached.archivedAt})`);
  if (v.restore?.ok === true) parts.push(`restore test ${formatAge(v.restore.durationSeconds)}: ${v.restore.detail}`);
  if (v.restoreQueued !== undefined) {
    parts.push(
      `restore test queued (${v.restoreQueued.position} of ${v.restoreQueued.waiting} waiting for the fleet's restore-test slots)`,
    );
  }
  if (v.logical?.ok === true) parts.push(v.logical.detail);
  const figures = parts.length > 0 ? `: ${parts.join('; ')}` : '';
  const { reason, detail } = headline(v);
  return {
    type: BACKUP_VERIFIED_CONDITION,
    status: passed(v) ? 'True' : v.inventory.pending === true ? 'Unknown' : 'False',
    reason,
    message: passed(v) ? `verified${figures}` : `${detail}${figures}`,
  };
}

/** The CloudEvent's data: the same facts as fields. */
export function eventData(v: Verification): Record<string, unknown> {
  const inv = v.inventory;
  const { reason, detail } = headline(v);
  return {
    namespace: v.namespace,
    name: v.name,
    archive: v.archive,
    outcome: passed(v) ? 'verified' : 'failed',
    reason,
    message: detail,
    backup:
      inv.backup === undefined
        ? null
        : {
            id: inv.backup.id,
            finishTime: inv.backup.finishTime,
            ageSeconds: Math.round(inv.backup.ageSeconds),
            storedBytes: inv.backup.storedBytes,
          },
    reached: inv.reached ?? null,
    logical: v.logical?.dump ?? null,
    restore: v.restore === undefined ? null : { ok: v.restore.ok, detail: v.restore.detail, durationSeconds: v.restore.durationSeconds },
    restoreQueued: v.restoreQueued ?? null,
    segmentsChecked: inv.segmentsChecked,
    durationSeconds: v.durationSeconds,
  };
}
