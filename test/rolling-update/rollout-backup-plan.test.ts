import { expect } from 'chai';
import {
  decideRolloutBackup,
  ROLLOUT_BACKUP_ANNOTATION,
  ROLLOUT_BACKUP_FAILURE_ANNOTATION,
  type RolloutBackupInputs,
} from '../../functions/rolling-update/src/rollout-backup-plan.js';

const OLD = 'ghcr.io/zalando/spilo-17:4.0-p2';
const NEW = 'ghcr.io/zalando/spilo-17:4.0-p3';
const inputs = (more: Partial<RolloutBackupInputs> = {}): RolloutBackupInputs => ({
  walS3Bucket: 'pgfn-wal',
  templateImage: NEW,
  podImages: [OLD, OLD],
  annotations: {},
  ...more,
});

describe('rolling-update: the base backup before rolling out a new Spilo image (decision)', () => {
  it('a pod running another image than the template, backups configured: one backup for the new image', () => {
    expect(decideRolloutBackup(inputs())).to.deep.equal({ action: 'backup', image: NEW, running: [OLD] });
    expect(decideRolloutBackup(inputs({ podImages: [NEW, OLD, undefined] }))).to.deep.equal({
      action: 'backup',
      image: NEW,
      running: [OLD],
    });
  });

  it('no backup without wal_s3_bucket, without a template image, or when every pod runs the template image', () => {
    expect(decideRolloutBackup(inputs({ walS3Bucket: '' }))).to.deep.equal({ action: 'none' });
    expect(decideRolloutBackup(inputs({ templateImage: undefined }))).to.deep.equal({ action: 'none' });
    // pods flagged for another reason (a changed environment, a PGVERSION change: the major upgrade's own backup)
    expect(decideRolloutBackup(inputs({ podImages: [NEW, NEW] }))).to.deep.equal({ action: 'none' });
  });

  it('once per image: the annotation naming the new image means the backup was taken; an older one does not', () => {
    expect(decideRolloutBackup(inputs({ annotations: { [ROLLOUT_BACKUP_ANNOTATION]: NEW } }))).to.deep.equal({ action: 'none' });
    expect(decideRolloutBackup(inputs({ annotations: { [ROLLOUT_BACKUP_ANNOTATION]: OLD } })).action).to.equal('backup');
  });

  it('a failed backup for this image blocks the rollout and says how to retry or skip; one for another image does not', () => {
    const blocked = decideRolloutBackup(inputs({ annotations: { [ROLLOUT_BACKUP_FAILURE_ANNOTATION]: NEW } }));
    expect(blocked.action).to.equal('blocked');
    expect(blocked).to.have.property('reason').that.includes(`set ${ROLLOUT_BACKUP_ANNOTATION}: ${NEW}`);
    expect(decideRolloutBackup(inputs({ annotations: { [ROLLOUT_BACKUP_FAILURE_ANNOTATION]: OLD } })).action).to.equal('backup');
    // the success annotation set by hand for the image skips the backup even after a failure
    const skipped = { [ROLLOUT_BACKUP_FAILURE_ANNOTATION]: NEW, [ROLLOUT_BACKUP_ANNOTATION]: NEW };
    expect(decideRolloutBackup(inputs({ annotations: skipped }))).to.deep.equal({ action: 'none' });
  });
});
