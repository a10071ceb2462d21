// backup-verify's decisions, pure: the inventory check over lists shaped as the bucket readers return
// them (the same check runs against a real archive in test/backup-verify/verify.test.ts).
import { expect } from 'chai';
import { CloudEvent } from 'cloudevents';
import type { BaseBackup, WalSegment } from '@pgfn/backup-store';
import { targetOf } from '../../functions/backup-verify/src/events.js';
import { checkInventory, formatAge } from '../../functions/backup-verify/src/inventory.js';
import { archiveLocation } from '../../functions/backup-verify/src/location.js';
import { policyFromEnv } from '../../functions/backup-verify/src/policy.js';
import { conditionOf } from '../../functions/backup-verify/src/result.js';

const NOW = new Date('2026-12-05T12:00:00Z');
const HOUR = 3600_000;
const policy = policyFromEnv({});

const backup = (o: Partial<BaseBackup> = {}): BaseBackup => ({
  id: '20261205T100000',
  layout: 'barman-cloud',
  startTime: new Date(NOW.getTime() - 2 * HOUR),
  finishTime: new Date(NOW.getTime() - 2 * HOUR + 60_000),
  startLsn: '0/3000028',
  finishLsn: '0/3000138',
  timeline: 1,
  pgMajor: 15,
  systemIdentifier: '7000000000000000000',
  dataBytes: 30_000_000,
  storedBytes: 4_200_000,
  startSegment: '000000010000000000000003',
  ...o,
});
const seg = (name: string, ageMs = HOUR): WalSegment => ({
  name,
  timeline: Number.parseInt(name.slice(0, 8), 16),
  key: `wals/${name.slice(0, 16)}/${name}.gz`,
  storedBytes: 16384,
  archivedAt: new Date(NOW.getTime() - ageMs),
});
const names = (tl: number, from: number, to: number): string[] =>
  Array.from(
    { length: to - from + 1 },
    (_, i) => `${tl.toString(16).padStart(8, '0').toUpperCase()}00000000${(from + i).toString(16).toUpperCase().padStart(8, '0')}`,
  );

describe('backup-verify: inventory decisions', () => {
  it('a young backup with every segment from its start to the newest: verified, with the point reached', () => {
    const r = checkInventory({ backups: [backup()], segments: names(1, 1, 0x10).map((n) => seg(n)), now: NOW, policy });
    expect(r).to.include({ ok: true, reason: 'Verified', segmentsChecked: 14 });
    expect(r.reached).to.deep.include({ segment: '000000010000000000000010', lsn: '0/11000000' });
    expect(conditionOf({ namespace: 'ns', name: 'c', archive: 's3://b/p', inventory: r, durationSeconds: 1 }).message).to.match(
      /^verified: base backup 20261205T100000, 1h 59m old, 4\.0 MiB stored; recoverable to 0\/11000000/,
    );
  });

  it('one segment missing: fails naming it, and says how far recovery gets', () => {
    const segments = names(1, 3, 0x10)
      .filter((n) => !n.endsWith('08'))
      .map((n) => seg(n));
    const r = checkInventory({ backups: [backup()], segments, now: NOW, policy });
    expect(r).to.include({ ok: false, reason: 'MissingWalSegment' });
    expect(r.detail).to.equal('WAL segment 000000010000000000000008 is missing from the archive');
    expect(r.reached?.segment).to.equal('000000010000000000000007');
  });

  it('follows a timeline switch, and names a timeline that is skipped', () => {
    const switched = [...names(1, 3, 6), ...names(2, 6, 9)].map((n) => seg(n));
    expect(checkInventory({ backups: [backup()], segments: switched, now: NOW, policy })).to.include({ ok: true });
    const skipped = [...names(1, 3, 6), ...names(3, 7, 9)].map((n) => seg(n));
    const r = checkInventory({ backups: [backup()], segments: skipped, now: NOW, policy });
    expect(r).to.include({ ok: false, reason: 'TimelineGap' });
    expect(r.detail).to.match(/000000030000000000000007 on timeline 3 follows timeline 1/);
  });

  it('no backup younger than the policy: fails with the age', () => {
    const old = backup({ finishTime: new Date(NOW.getTime() - 30 * HOUR) });
    const r = checkInventory({ backups: [old], segments: names(1, 3, 5).map((n) => seg(n)), now: NOW, policy });
    expect(r).to.include({ ok: false, reason: 'BackupTooOld' });
    expect(r.detail).to.equal("the newest base backup 20261205T100000 is 1d 6h old, older than the policy's 1d 2h");
  });

  it('no backup at all; an archive that ends before the backup is consistent; a stale archive', () => {
    expect(checkInventory({ backups: [], segments: [], now: NOW, policy })).to.include({ ok: false, reason: 'NoBaseBackup' });
    const short = checkInventory({
      backups: [backup({ finishLsn: '0/5000100' })],
      segments: names(1, 3, 4).map((n) => seg(n)),
      now: NOW,
      policy,
    });
    expect(short).to.include({ ok: false, reason: 'WalShort' });
    expect(short.detail).to.match(/ends before 000000010000000000000005/);
    const stale = checkInventory({ backups: [backup()], segments: names(1, 3, 4).map((n) => seg(n, 27 * HOUR)), now: NOW, policy });
    expect(stale).to.include({ ok: false, reason: 'StaleArchive' });
    expect(stale.detail).to.match(/000000010000000000000004 was archived 1d 3h ago/);
  });

  it('a new cluster without a base backup yet is pending (Unknown), not failed, until the policy says it is late', () => {
    const fresh = checkInventory({ backups: [], segments: [], now: NOW, policy, clusterCreated: new Date(NOW.getTime() - HOUR) });
    expect(fresh).to.include({ ok: false, pending: true, reason: 'AwaitingFirstBackup' });
    expect(fresh.detail).to.equal('no base backup yet; the cluster is 1h old (the policy allows 1d 2h)');
    expect(conditionOf({ namespace: 'ns', name: 'c', archive: 's3://b/p', inventory: fresh, durationSeconds: 0 }).status).to.equal(
      'Unknown',
    );
    const late = checkInventory({ backups: [], segments: [], now: NOW, policy, clusterCreated: new Date(NOW.getTime() - 27 * HOUR) });
    expect(late).to.include({ ok: false, reason: 'NoBaseBackup' });
    expect(late.pending).to.equal(undefined);
  });

  it('policy from the environment; ages; archive location; which events concern which clusters', () => {
    expect(policyFromEnv({ PGFN_BACKUP_MAX_AGE_HOURS: '2', PGFN_VERIFY_CONCURRENCY: '8' })).to.deep.include({
      maxBackupAgeSeconds: 7200,
      concurrency: 8,
    });
    expect(formatAge(59)).to.equal('59s');
    expect(formatAge(3600 * 26)).to.equal('1d 2h');
    const cluster = { metadata: { name: 'acid-a', uid: 'u-1' }, spec: { postgresql: { version: '15' } } } as never;
    expect(archiveLocation(cluster, { walS3Bucket: 'b' })).to.deep.equal({ location: { bucket: 'b', prefix: 'spilo/acid-a/u-1/wal/15' } });
    expect(archiveLocation(cluster, { walS3Bucket: '' })).to.have.property('unconfigured');
    const ping = new CloudEvent({
      type: 'dev.knative.sources.ping',
      source: '/apis/v1/namespaces/pgfn-system/pingsources/pgfn-backup-check',
    });
    expect(targetOf(ping)).to.deep.equal({ scope: 'all' });
    expect(targetOf(new CloudEvent({ type: 'dev.knative.sources.ping', source: '/x/pingsources/pgfn-resync' })).scope).to.equal('ignore');
    const requested = new CloudEvent({ type: 'dev.pgfn.backup.verify.requested', source: 'me', subject: 'ns/acid-a' });
    expect(targetOf(requested)).to.deep.equal({ scope: 'cluster', namespace: 'ns', name: 'acid-a' });
  });
});
