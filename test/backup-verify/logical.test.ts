// backup-verify's logical-backup decisions, pure: cron's previous runs and the newest dump's age
// against them (upstream's keys, `<prefix>/<cluster>/<uid>/logical_backups/<epoch>.sql.gz`).
import { expect } from 'chai';
import { cronFires, previousFires } from '../../functions/backup-verify/src/cron.js';
import { logicalLocation } from '../../functions/backup-verify/src/location.js';
import { checkLogical } from '../../functions/backup-verify/src/logical.js';

const NOW = new Date('2026-12-05T12:00:30Z');
const key = (at: string): string => `spilo/acid-a/u-1/logical_backups/${Math.floor(Date.parse(at) / 1000)}.sql.gz`;

describe('backup-verify: logical-backup decisions', () => {
  it('reads five-field schedules as CronJobs do (UTC)', () => {
    expect(cronFires('30 00 * * *', new Date('2026-12-05T00:30:00Z'))).to.equal(true);
    expect(cronFires('30 00 * * *', new Date('2026-12-05T00:31:00Z'))).to.equal(false);
    expect(cronFires('*/15 * * * 1-5', new Date('2026-12-04T10:45:00Z'))).to.equal(true); // a Friday
    expect(cronFires('*/15 * * * 1-5', new Date('2026-12-05T10:45:00Z'))).to.equal(false); // a Saturday
    expect(previousFires('30 00 * * *', NOW, 2).map((d) => d.toISOString())).to.deep.equal([
      '2026-12-05T00:30:00.000Z',
      '2026-12-04T00:30:00.000Z',
    ]);
    expect(() => cronFires('30 00 * *', NOW)).to.throw('five-field');
  });

  it('the newest dump after the second-to-last run passes; older fails with its age; none fails', () => {
    const ok = checkLogical({ dumps: [{ key: key('2026-12-05T00:31:10Z'), storedBytes: 2048 }], schedule: '30 00 * * *', now: NOW });
    expect(ok).to.deep.include({ ok: true, reason: 'LogicalBackupFound' });
    expect(ok.detail).to.match(/^logical backup \d+\.sql\.gz, 11h 29m old, 2\.0 KiB$/);
    // The run of today may still be going: yesterday's dump is still fine.
    expect(checkLogical({ dumps: [{ key: key('2026-12-04T00:31:00Z'), storedBytes: 1 }], schedule: '30 00 * * *', now: NOW }).ok).to.equal(
      true,
    );
    const old = checkLogical({ dumps: [{ key: key('2026-12-03T00:31:00Z'), storedBytes: 1 }], schedule: '30 00 * * *', now: NOW });
    expect(old).to.deep.include({ ok: false, reason: 'LogicalBackupTooOld' });
    expect(old.detail).to.match(
      /2d 11h old.*older than the schedule "30 00 \* \* \*" allows \(a run at 2026-12-04T00:30:00.000Z left none\)/,
    );
    expect(
      checkLogical({ dumps: [{ key: 'spilo/acid-a/u-1/logical_backups/notes.txt', storedBytes: 1 }], schedule: '* * * * *', now: NOW }),
    ).to.deep.include({
      ok: false,
      reason: 'LogicalBackupMissing',
    });
  });

  it("finds a cluster's dumps under upstream's key, only when it has logical backups", () => {
    const config = { logicalBackupS3Bucket: 'lb', logicalBackupS3BucketPrefix: 'spilo', logicalBackupSchedule: '30 00 * * *' };
    const cluster = (spec: object): never =>
      ({ metadata: { name: 'acid-a', uid: 'u-1' }, spec: { postgresql: { version: '15' }, ...spec } }) as never;
    expect(logicalLocation(cluster({ enableLogicalBackup: true, logicalBackupSchedule: '0 * * * *' }), config)).to.deep.equal({
      location: { bucket: 'lb', prefix: 'spilo/acid-a/u-1/logical_backups' },
      schedule: '0 * * * *',
    });
    expect(logicalLocation(cluster({}), config)).to.equal(undefined);
  });
});
