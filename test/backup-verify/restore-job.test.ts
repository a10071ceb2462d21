// The restore test's scratch Job, pure: made from the StatefulSet the builder makes for a cluster that
// archives, it is a point-in-time clone of that cluster's archive that archives nowhere.
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import { buildStatefulSet } from '@pgfn/builder';
import { restoreJob } from '../../functions/backup-verify/src/restore-job.js';

describe('backup-verify: the restore-test Job', () => {
  it("is the cluster's pod as a clone of its own archive to the target, under its own scope, on an emptyDir, archiving nowhere", () => {
    const config = { ...structuredClone(DEFAULT_OPERATOR_CONFIG), walS3Bucket: 'pgfn-wal', podEnvironmentSecret: 'pgfn-s3' };
    const cluster: Postgresql = {
      apiVersion: 'acid.zalan.do/v1',
      kind: 'postgresql',
      metadata: { name: 'acid-a', namespace: 'ns', uid: 'u-1' },
      spec: { teamId: 'acid', numberOfInstances: 2, postgresql: { version: '15' }, volume: { size: '1Gi' } },
    };
    const statefulSet = buildStatefulSet(cluster, config, { secret: { AWS_ENDPOINT: 'x', AWS_ACCESS_KEY_ID: 'k' } });
    const job = restoreJob({ cluster, statefulSet, config, targetTime: '2026-12-05T12:00:00.000+00:00', deadlineSeconds: 600 });
    expect(job.metadata).to.deep.include({ name: 'acid-a-restore-test', namespace: 'ns' });
    expect(job.spec).to.deep.include({ backoffLimit: 0, activeDeadlineSeconds: 600 });
    const pod = job.spec?.template;
    expect(pod?.metadata?.labels).to.deep.include({
      'cluster-name': 'acid-a-restore-test',
      'pgfn.dev/restore-test-of': 'acid-a',
      application: 'spilo',
    });
    expect(pod?.spec?.restartPolicy).to.equal('Never');
    expect(pod?.spec?.volumes?.find((v) => v.name === 'pgdata')).to.deep.equal({ name: 'pgdata', emptyDir: {} });
    const env = new Map((pod?.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? `<from ${e.valueFrom ? 'ref' : '?'}>`]));
    expect(env.get('SCOPE')).to.equal('acid-a-restore-test');
    expect(env.get('CLONE_METHOD')).to.equal('CLONE_WITH_WALE');
    expect(env.get('CLONE_SCOPE')).to.equal('acid-a');
    expect(env.get('CLONE_TARGET_TIME')).to.equal('2026-12-05T12:00:00.000+00:00');
    expect(env.get('CLONE_WAL_S3_BUCKET')).to.equal('pgfn-wal');
    expect(env.get('CLONE_WAL_BUCKET_SCOPE_SUFFIX')).to.equal('/u-1');
    for (const own of ['WAL_S3_BUCKET', 'WAL_BUCKET_SCOPE_SUFFIX', 'WAL_BUCKET_SCOPE_PREFIX']) expect(env.has(own), own).to.equal(false);
    // The users' environment (pod_environment_secret) stays: the clone needs its keys and endpoint.
    expect(env.get('AWS_ENDPOINT')).to.equal('<from ref>');
    expect(env.get('PGPASSWORD_SUPERUSER')).to.equal('<from ref>');
  });
});
