// The conditions rolling-update writes: RollingUpdate (shared with reconcile, which sets whether pods
// are pending; rolling-update says which is next and why it waits), PatroniConfigApplied and
// VolumesResized. Pure: the write itself is guarded by resourceVersion elsewhere.
import type { Condition } from '@pgfn/api';
import { VOLUMES_RESIZED, VOLUMES_UP_TO_DATE } from '@pgfn/fn-runtime';
import type { RestartStep } from './restart-plan.js';
import type { RotationStep } from './rotation-plan.js';

export type ConditionUpdate = Pick<Condition, 'type' | 'status' | 'reason' | 'message'>;

export const ROLLING_UPDATE = 'RollingUpdate';
export const PATRONI_CONFIG = 'PatroniConfigApplied';
export const VOLUMES = VOLUMES_RESIZED;
/** PatroniConfigApplied's reason while restarts wait and the primary goes first. */
export const RESTART_PRIMARY_FIRST = 'RestartPendingPrimaryFirst';

const ROTATION_REASON: Record<RotationStep['action'], string> = {
  none: 'UpToDate',
  wait: 'WaitingForPod',
  blocked: 'Blocked',
  fail: 'Failed',
  delete: 'RotatingPod',
  switchover: 'SwitchingOver',
};

export function rotationCondition(step: RotationStep, completedNow: boolean): ConditionUpdate {
  if (step.action === 'none')
    return { type: ROLLING_UPDATE, status: 'False', reason: completedNow ? 'Completed' : 'UpToDate', message: step.reason };
  const next =
    step.action === 'delete' ? `; now recreating ${step.pod}` : step.action === 'switchover' ? `; now switching over to ${step.to}` : '';
  return {
    type: ROLLING_UPDATE,
    status: 'True',
    reason: ROTATION_REASON[step.action],
    message: `${step.pending.length} pod(s) wait for rotation (${step.pending.join(', ')}): ${step.reason}${next}`,
  };
}

/** Right after a PATCH /config: Patroni applies it on its next loop and then reports any restart it needs. */
export function patchedCondition(changes: readonly string[], primaryFirst: boolean): ConditionUpdate {
  return {
    type: PATRONI_CONFIG,
    status: 'False',
    reason: primaryFirst ? RESTART_PRIMARY_FIRST : 'Applying',
    message: `patched ${changes.join(', ')}; waiting for Patroni to apply it`,
  };
}

export function configCondition(restart: RestartStep, primaryFirst: boolean): ConditionUpdate {
  if (restart.action !== 'none')
    return {
      type: PATRONI_CONFIG,
      status: 'False',
      reason: primaryFirst ? RESTART_PRIMARY_FIRST : 'RestartPending',
      message: `Postgres restart pending on ${restart.pending.join(', ')}`,
    };
  return {
    type: PATRONI_CONFIG,
    status: 'True',
    reason: 'Applied',
    message: 'Patroni holds the manifest settings and no restart is pending',
  };
}

export function volumeCondition(problems: readonly string[], grown: readonly string[]): ConditionUpdate {
  if (problems.length > 0) return { type: VOLUMES, status: 'False', reason: 'ResizeRefused', message: problems.join('; ') };
  if (grown.length > 0) return { type: VOLUMES, status: 'True', reason: 'Resized', message: `grown: ${grown.join(', ')}` };
  return VOLUMES_UP_TO_DATE;
}
