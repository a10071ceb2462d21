// Whether a rotation must wait for a base backup first (ADR 0091): a version change is a Spilo image
// change — the template's postgres image differs from one a pod runs. A Spilo image carries the
// PostgreSQL minor releases (every major it ships), Patroni and the backup tools, so a new image is
// new binaries under the same data; a major upgrade (PGVERSION) has its own backup before
// pg_upgrade (ADR 0073). Where backups are configured (wal_s3_bucket), the first step that takes a
// pod down for a new image waits for one base backup, once per image: the postgresql's annotation
// records the image it was taken for, so a second event, a later step or another instance does not
// take another. A failed backup stops the rollout, recorded the same way; removing the failure
// annotation retries, and setting the success annotation to the image rolls out without one.

export const ROLLOUT_BACKUP_ANNOTATION = 'pgfn.dev/backup-before-rollout';
export const ROLLOUT_BACKUP_FAILURE_ANNOTATION = 'pgfn.dev/backup-before-rollout-failed';

export interface RolloutBackupInputs {
  /** The operator configuration's wal_s3_bucket (backups configured). */
  readonly walS3Bucket: string;
  readonly templateImage: string | undefined;
  /** The postgres image each pod runs. */
  readonly podImages: readonly (string | undefined)[];
  readonly annotations: Readonly<Record<string, string>>;
}

export type RolloutBackupDecision =
  | { readonly action: 'none' }
  | { readonly action: 'backup'; readonly image: string; readonly running: readonly string[] }
  | { readonly action: 'blocked'; readonly image: string; readonly reason: string };

export function decideRolloutBackup(inputs: RolloutBackupInputs): RolloutBackupDecision {
  const image = inputs.templateImage;
  if (!inputs.walS3Bucket || image === undefined) return { action: 'none' };
  const running = [...new Set(inputs.podImages.filter((i): i is string => i !== undefined && i !== image))].sort();
  if (running.length === 0 || inputs.annotations[ROLLOUT_BACKUP_ANNOTATION] === image) return { action: 'none' };
  if (inputs.annotations[ROLLOUT_BACKUP_FAILURE_ANNOTATION] === image)
    return {
      action: 'blocked',
      image,
      reason:
        `the base backup before rolling out ${image} failed; the rollout waits. Remove the annotation ` +
        `${ROLLOUT_BACKUP_FAILURE_ANNOTATION} to try again, or set ${ROLLOUT_BACKUP_ANNOTATION}: ${image} to roll out without it`,
    };
  return { action: 'backup', image, running };
}
