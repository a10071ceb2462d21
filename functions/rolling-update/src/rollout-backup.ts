// Before the first rotation to a new Spilo image, where backups are configured: one base backup
// (base-backup.ts, the major upgrade's path), recorded on the postgresql so it is taken once per image
// (rollout-backup-plan.ts decides; ADR 0091). The rotation waits for it: this invocation ends after the
// backup, and the next one (the pods' next events, or the periodic check) reads everything anew and
// rotates. A failed backup stops the rollout with a Warning, the condition and
// dev.pgfn.rollingupdate.failed, as a failed backup stops a major upgrade.
import { API_VERSION, POSTGRESQL_KIND } from '@pgfn/api';
import { podRoleLabelKey } from '@pgfn/builder';
import { takeBaseBackup } from './base-backup.js';
import { ROLLING_UPDATE, type ConditionUpdate } from './conditions.js';
import { templateImage } from './pod-view.js';
import { decideRolloutBackup, ROLLOUT_BACKUP_ANNOTATION, ROLLOUT_BACKUP_FAILURE_ANNOTATION } from './rollout-backup-plan.js';
import { mustAct } from './would-act.js';
import type { ConditionStepContext } from './step-context.js';

export interface RolloutBackupHold {
  readonly outcome: 'acted' | 'waiting';
  readonly condition: ConditionUpdate;
}

const BACKUP_FAILED = 'BackupBeforeRolloutFailed';

/** Undefined: the rotation may go on. Otherwise it waits (a backup was taken or failed in this invocation, or one failed before). */
export async function backupBeforeRollout(
  ctx: ConditionStepContext,
  pods: readonly { image: string | undefined }[],
): Promise<RolloutBackupHold | undefined> {
  const { deps, live } = ctx;
  const { cluster } = live;
  const decision = decideRolloutBackup({
    walS3Bucket: ctx.config.walS3Bucket,
    templateImage: templateImage(live.statefulSet),
    podImages: pods.map((p) => p.image),
    annotations: cluster.metadata?.annotations ?? {},
  });
  if (decision.action === 'none') return undefined;
  if (decision.action === 'blocked') {
    // The failure's own message (pod, the script's last line) stays until the annotation is removed.
    const condition = ctx.before.reason === BACKUP_FAILED ? ctx.before : failedCondition(decision.reason);
    return { outcome: 'waiting', condition };
  }
  const roleLabel = podRoleLabelKey(ctx.config);
  const primary = live.pods.find((p) => p.metadata?.labels?.[roleLabel] === 'master')?.metadata?.name;
  if (primary === undefined) return undefined; // the plan only rotates with one master; nothing to back up from
  mustAct(ctx);
  const namespace = cluster.metadata?.namespace ?? '';
  const ref = { apiVersion: API_VERSION, kind: POSTGRESQL_KIND, namespace, name: cluster.metadata?.name ?? '' };
  const about = `before rolling out ${decision.image} (pods run ${decision.running.join(', ')})`;
  await deps.recordEvent({
    about: cluster,
    type: 'Normal',
    reason: 'BackupBeforeRollout',
    message: `taking a base backup on ${primary} ${about}`,
  });
  const taken =
    deps.exec === undefined
      ? { ok: false as const, lastLine: 'this rolling-update instance cannot exec into pods' }
      : await takeBaseBackup({
          deps,
          cluster,
          log: ctx.log,
          exec: deps.exec,
          primary,
          why: `before rolling out ${decision.image}`,
          requestId: `rollout-${deps.now().toISOString()}`,
        });
  if (!taken.ok) {
    const message =
      `the base backup before rolling out ${decision.image} failed on ${primary}: ${taken.lastLine}; the rollout waits. ` +
      `Remove the annotation ${ROLLOUT_BACKUP_FAILURE_ANNOTATION} to try again, or set ${ROLLOUT_BACKUP_ANNOTATION}: ${decision.image} ` +
      'to roll out without it';
    await deps.kube.patchMetadata(ref, { annotations: { [ROLLOUT_BACKUP_FAILURE_ANNOTATION]: decision.image } });
    await deps.recordEvent({ about: cluster, type: 'Warning', reason: BACKUP_FAILED, message });
    await deps.emit('dev.pgfn.rollingupdate.failed', `${namespace}/${ref.name}`, {
      namespace,
      name: ref.name,
      pod: primary,
      reason: message,
    });
    return { outcome: 'acted', condition: failedCondition(message) };
  }
  await deps.kube.patchMetadata(ref, {
    annotations: { [ROLLOUT_BACKUP_ANNOTATION]: decision.image, [ROLLOUT_BACKUP_FAILURE_ANNOTATION]: null },
  });
  const message = `base backup on ${primary} ${about} taken in ${taken.seconds.toFixed(1)} s; the rotation follows`;
  await deps.recordEvent({ about: cluster, type: 'Normal', reason: 'BackupBeforeRollout', message });
  return { outcome: 'acted', condition: { type: ROLLING_UPDATE, status: 'True', reason: 'BackupTaken', message } };
}

function failedCondition(message: string): ConditionUpdate {
  return { type: ROLLING_UPDATE, status: 'True', reason: BACKUP_FAILED, message };
}
