// What a verification says where users look (pure): the BackupVerified condition, the Event, and the
// data of dev.pgfn.backup.verified / dev.pgfn.backup.failed (schema in the README's event table).
import type { ConditionInput } from '@pgfn/fn-runtime';
import { formatAge, formatBytes, type InventoryResult } from './inventory.js';

export const BACKUP_VERIFIED_CONDITION = 'BackupVerified';
export const VERIFIED_TYPE = 'dev.pgfn.backup.verified';
export const FAILED_TYPE = 'dev.pgfn.backup.failed';

/** A verification's outcome: the inventory, and (when one ran) the restore test. */
export interface Verification {
  readonly namespace: string;
  readonly name: string;
  readonly archive: string;
  readonly inventory: InventoryResult;
  readonly durationSeconds: number;
}

export function conditionOf(v: Verification): ConditionInput {
  const inv = v.inventory;
  const parts: string[] = [];
  if (inv.backup !== undefined) {
    parts.push(`base backup ${inv.backup.id}, ${formatAge(inv.backup.ageSeconds)} old, ${formatBytes(inv.backup.storedBytes)} stored`);
  }
  if (inv.reached !== undefined)
    parts.push(`recoverable to ${inv.reached.lsn} (segment ${inv.reached.segment}, archived ${inv.reached.archivedAt})`);
  const figures = parts.length > 0 ? `: ${parts.join('; ')}` : '';
  return {
    type: BACKUP_VERIFIED_CONDITION,
    status: inv.ok ? 'True' : 'False',
    reason: inv.reason,
    message: inv.ok ? `verified${figures}` : `${inv.detail}${figures}`,
  };
}

/** The CloudEvent's data: the same facts as fields. */
export function eventData(v: Verification): Record<string, unknown> {
  const inv = v.inventory;
  return {
    namespace: v.namespace,
    name: v.name,
    archive: v.archive,
    outcome: inv.ok ? 'verified' : 'failed',
    reason: inv.reason,
    message: inv.detail,
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
    segmentsChecked: inv.segmentsChecked,
    durationSeconds: v.durationSeconds,
  };
}
