import { expect } from 'chai';
import {
  clusterLabels,
  inheritedAnnotations,
  inheritedLabels,
  objectAnnotations,
  objectLabels,
  roleObjectLabels,
  roleSelectorLabels,
  downscalerAnnotations,
} from '../../shared/builder/src/labels.js';
import {
  configServiceName,
  criticalOpPdbName,
  logicalBackupJobName,
  masterServiceName,
  pdbName,
  podServiceAccountName,
  poolerName,
  replicaServiceName,
  secretName,
  statefulSetName,
  trimCronJobName,
  CLUSTER_NAME_MAX_LENGTH,
} from '../../shared/builder/src/names.js';
import { makeCluster, makeConfig } from './sts-fixtures.js';

describe('names', () => {
  const c = makeCluster();
  const config = makeConfig();

  it('names every object of a cluster after it', () => {
    const table: [string, string][] = [
      [statefulSetName(c), 'acid-test-cluster'],
      [masterServiceName(c), 'acid-test-cluster'],
      [replicaServiceName(c), 'acid-test-cluster-repl'],
      [configServiceName(c), 'acid-test-cluster-config'],
      [pdbName(c, config), 'postgres-acid-test-cluster-pdb'],
      [criticalOpPdbName(c), 'postgres-acid-test-cluster-critical-op-pdb'],
      [poolerName(c), 'acid-test-cluster-pooler'],
      [poolerName(c, 'replica'), 'acid-test-cluster-pooler-repl'],
      [logicalBackupJobName(c, config), 'logical-backup-acid-test-cluster'],
      [podServiceAccountName(config), 'postgres-pod'],
    ];
    for (const [actual, expected] of table) expect(actual).to.equal(expected);
  });

  it('fails with the field path when the cluster has no name', () => {
    expect(() => statefulSetName(makeCluster({}, { name: '' }))).to.throw(/metadata\.name/);
  });

  describe('secretName', () => {
    const cases: { user: string; template?: string; expected: string }[] = [
      { user: 'postgres', expected: 'postgres.acid-test-cluster.credentials.postgresql.acid.zalan.do' },
      { user: 'foo_user', expected: 'foo-user.acid-test-cluster.credentials.postgresql.acid.zalan.do' },
      { user: 'a_b_c', expected: 'a-b-c.acid-test-cluster.credentials.postgresql.acid.zalan.do' },
      { user: 'zalando', template: '{cluster}-{username}-secret', expected: 'acid-test-cluster-zalando-secret' },
      { user: 'x', template: '{username}.{username}', expected: 'x.x' },
    ];
    for (const tc of cases) {
      it(`names the secret of "${tc.user}" with template ${tc.template ?? 'default'}`, () => {
        const cfg = tc.template === undefined ? {} : { secretNameTemplate: tc.template };
        expect(secretName(tc.user, 'acid-test-cluster', cfg)).to.equal(tc.expected);
      });
    }
  });

  it('uses config pdb_name_format and logical_backup_job_prefix', () => {
    expect(pdbName(c, { pdbNameFormat: '{cluster}-budget' })).to.equal('acid-test-cluster-budget');
    expect(logicalBackupJobName(c, { logicalBackupJobPrefix: 'lb-' })).to.equal('lb-acid-test-cluster');
  });

  it('keeps cluster names short enough for the -repl service', () => {
    expect(CLUSTER_NAME_MAX_LENGTH + '-repl'.length).to.equal(63);
  });

  describe('trimCronJobName', () => {
    const cases: [string, string][] = [
      ['short', 'short'],
      ['a'.repeat(52), 'a'.repeat(52)],
      ['a'.repeat(53), 'a'.repeat(52)],
      [`${'a'.repeat(50)}--b`, 'a'.repeat(50)],
    ];
    for (const [input, expected] of cases) {
      it(`trims a ${input.length}-character name to ${expected.length}`, () => expect(trimCronJobName(input)).to.equal(expected));
    }
    it('keeps logical backup job names within 52 characters', () => {
      const long = makeCluster({}, { name: `acid-${'x'.repeat(53)}` });
      expect(logicalBackupJobName(long, config).length).to.be.at.most(52);
    });
  });
});

describe('labels', () => {
  const c = makeCluster(
    { teamId: 'acid' },
    { labels: { environment: 'test', other: 'x' }, annotations: { owner: 'me', 'downscaler/downtime': '1', ignored: 'y' } },
  );

  it('selects pods by cluster_labels plus the cluster name', () => {
    expect(clusterLabels(c, makeConfig())).to.deep.equal({ application: 'spilo', 'cluster-name': 'acid-test-cluster' });
    expect(clusterLabels(c, makeConfig({ clusterLabels: { app: 'db' }, clusterNameLabel: 'cluster' }))).to.deep.equal({
      app: 'db',
      cluster: 'acid-test-cluster',
    });
  });

  it('adds the team and inherited labels to object labels', () => {
    const config = makeConfig({ inheritedLabels: ['environment', 'missing'] });
    expect(inheritedLabels(c, config)).to.deep.equal({ environment: 'test' });
    expect(objectLabels(c, config)).to.deep.equal({
      application: 'spilo',
      'cluster-name': 'acid-test-cluster',
      team: 'acid',
      environment: 'test',
    });
  });

  it('never lets an inherited label replace a selector label', () => {
    const cr = makeCluster({}, { labels: { application: 'other' } });
    expect(objectLabels(cr, makeConfig({ inheritedLabels: ['application'] }))['application']).to.equal('spilo');
  });

  it('adds the role label for master and replica', () => {
    const config = makeConfig();
    expect(roleSelectorLabels(c, config, 'master')).to.deep.equal({
      application: 'spilo',
      'cluster-name': 'acid-test-cluster',
      'spilo-role': 'master',
    });
    expect(roleObjectLabels(c, config, 'replica')['spilo-role']).to.equal('replica');
    expect(roleObjectLabels(c, config, 'replica')['team']).to.equal('acid');
  });

  it('copies only the configured annotations, and returns undefined when there are none', () => {
    const config = makeConfig({ inheritedAnnotations: ['owner'] });
    expect(inheritedAnnotations(c, config)).to.deep.equal({ owner: 'me' });
    expect(objectAnnotations(c, config, { a: 'b' })).to.deep.equal({ a: 'b', owner: 'me' });
    expect(objectAnnotations(c, makeConfig())).to.equal(undefined);
  });

  it('propagates annotations matching downscaler_annotations patterns', () => {
    expect(downscalerAnnotations(c, makeConfig({ downscalerAnnotations: ['downscaler/.*'] }))).to.deep.equal({
      'downscaler/downtime': '1',
    });
  });
});
