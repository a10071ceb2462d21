// Base backups on request, the pure decisions (ADR 0070): what an event asks for, when an earlier
// backup or the recorded outcome answers it, which backup the command made, and what status says.
import { expect } from 'chai';
import type { BaseBackup } from '@pgfn/backup-store';
import {
  answeredBy,
  backupTakenSince,
  lastLine,
  outcomeCondition,
  outcomeData,
  requestIdOf,
  requestOf,
} from '../../functions/backup-verify/src/backup-request.js';

const backup = (id: string, start: string): BaseBackup => ({
  id,
  layout: 'barman-cloud',
  startTime: new Date(start),
  finishTime: new Date(Date.parse(start) + 30_000),
  startLsn: '0/5000028',
  finishLsn: '0/5000138',
  timeline: 1,
  pgMajor: 15,
  systemIdentifier: '1',
  dataBytes: 1,
  storedBytes: 4 * 1024 * 1024,
  startSegment: '000000010000000000000005',
});
const event = (o: { subject?: string; time?: string }): Parameters<typeof requestOf>[0] => ({
  specversion: '1.0',
  id: 'r-1',
  source: 'test',
  type: 'dev.pgfn.backup.requested',
  ...o,
});

describe('backup-verify: base backups on request, decisions', () => {
  it('reads the request from the event: its id, the cluster in its subject, its time', () => {
    expect(requestOf(event({ subject: 'ns/acid-a', time: '2026-12-05T10:00:00Z' }))).to.deep.equal({
      id: 'r-1',
      namespace: 'ns',
      name: 'acid-a',
      at: new Date('2026-12-05T10:00:00Z'),
    });
    expect(requestOf(event({ subject: 'ns/acid-a' }))).to.include({ at: undefined });
    expect(requestOf(event({ subject: 'acid-a' }))).to.deep.equal({
      invalid: 'dev.pgfn.backup.requested without a <namespace>/<cluster> subject',
    });
  });

  it('a settled outcome for the same id answers it; a running one does not; a backup begun since the request does', () => {
    const request = { id: 'r-1', namespace: 'ns', name: 'a', at: new Date('2026-12-05T10:00:00Z') };
    const done = { status: 'True', message: 'request r-1: base backup x taken' };
    expect(answeredBy({ request, condition: done, backups: [] })).to.equal('condition');
    expect(answeredBy({ request, condition: { ...done, status: 'False' }, backups: [] })).to.equal('condition');
    expect(
      answeredBy({ request, condition: { status: 'Unknown', message: 'request r-1: base backup running on p-0' }, backups: [] }),
    ).to.equal(undefined);
    expect(answeredBy({ request, condition: { status: 'True', message: 'request r-10: x' }, backups: [] })).to.equal(undefined);
    const older = backup('20261205T095959', '2026-12-05T09:59:59Z');
    const newer = backup('20261205T100001', '2026-12-05T10:00:01Z');
    expect(answeredBy({ request, condition: undefined, backups: [older] })).to.equal(undefined);
    expect(answeredBy({ request, condition: undefined, backups: [older, newer] })).to.equal(newer);
    // without a time only the recorded outcome can answer it
    expect(answeredBy({ request: { ...request, at: undefined }, condition: undefined, backups: [older, newer] })).to.equal(undefined);
  });

  it('the backup the command made is the newest begun since it started (a second of clock slack)', () => {
    const a = backup('a', '2026-12-05T10:00:00Z');
    const b = backup('b', '2026-12-05T10:05:00Z');
    expect(backupTakenSince([a, b], new Date('2026-12-05T10:05:00.500Z'))).to.equal(b);
    expect(backupTakenSince([a, b], new Date('2026-12-05T10:05:02Z'))).to.equal(undefined);
  });

  it('says what happened on status and in the CloudEvent', () => {
    const request = { id: 'r-1', namespace: 'ns', name: 'a', at: undefined };
    const b = backup('20261205T100001', '2026-12-05T10:00:01Z');
    const ok = outcomeCondition(request, { ok: true, backup: b, pod: 'a-0', durationSeconds: 12.34, earlier: false });
    expect(ok).to.deep.equal({
      type: 'BackupRequested',
      status: 'True',
      reason: 'Completed',
      message: 'request r-1: base backup 20261205T100001 (0/5000028 to 0/5000138, 4.0 MiB stored) taken on a-0 in 12.3 s',
    });
    expect(requestIdOf(ok.message)).to.equal('r-1');
    const failed = {
      ok: false as const,
      reason: 'BackupFailed',
      detail: 'postgres_backup.sh on a-0 exited 1: boom',
      pod: 'a-0',
      durationSeconds: 2,
    };
    expect(outcomeCondition(request, failed)).to.include({ status: 'False', reason: 'BackupFailed' });
    expect(outcomeData({ request, outcome: failed, archive: 's3://b/p' })).to.deep.equal({
      namespace: 'ns',
      name: 'a',
      requestId: 'r-1',
      archive: 's3://b/p',
      outcome: 'backup-failed',
      reason: 'BackupFailed',
      message: 'postgres_backup.sh on a-0 exited 1: boom',
      pod: 'a-0',
      durationSeconds: 2,
    });
    expect(lastLine('one\n2026 postgres_backup.sh: base backup failed\n\n')).to.equal('2026 postgres_backup.sh: base backup failed');
  });
});
