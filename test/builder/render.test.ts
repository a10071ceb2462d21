// `npm run render`: every problem reported at once (the CRD's schema as the API server applies it,
// pgfn's validation, configured objects whose contents were not given), YAML that YAML 1.1 readers
// read as written, and the flags that give the pod-environment and backup-environment contents.
import { readFileSync } from 'node:fs';
import type { V1CronJob, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { buildCluster, placeholderPasswords, POSTGRESQL_CRD_FILE, renderYaml, runRender, type KubeObject } from '@pgfn/builder';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { cluster, config, inputs } from './support.js';

const PG = 'apiVersion: acid.zalan.do/v1\nkind: postgresql\nmetadata:\n  name: acid-r\nspec:\n';
const REQUIRED = '  teamId: acid\n  numberOfInstances: 1\n  postgresql:\n    version: "17"\n  volume:\n    size: 1Gi\n';
const files: Record<string, string> = {
  'pg.yaml': `${PG}  teamId: acid\n  numberOfInstances: 1\n  postgresql:\n    version: "17"\n  volume:\n    size: 1Gi\n`,
  'bad.yaml': `${PG}  teamId: acid\n  numberOfInstances: 1\n  postgresql:\n    version: "9"\n  volume:\n    size: 1Gi\n`,
  'many.yaml': [
    PG,
    '  numberOfInstances: 1\n  postgresql:\n    version: "17"\n',
    '  allowedSourceRanges: ["10.0.0.0/8", "10.1.0.0/33"]\n',
    '  clone:\n    cluster: acid-src\n    uid: not-a-uid\n',
    '  sidecars:\n    - name: exporter\n',
    '  env:\n    - name: A\n      value: "1"\n    - name: A\n      value: "2"\n',
    '  enableShmVolumes: true\n',
  ].join(''),
  'backup.yaml': `${PG}${REQUIRED}  enableLogicalBackup: true\n`,
  'yaml11.yaml': [
    PG,
    '  teamId: acid\n  numberOfInstances: 1\n  postgresql:\n    version: "17"\n  volume:\n    size: 1Gi\n',
    '  podAnnotations:\n    example.com/enabled: "yes"\n    example.com/since: "2026-01-01"\n',
    '  env:\n    - name: FLAG_ON\n      value: "on"\n    - name: FLAG_NO\n      value: "NO"\n    - name: MODE\n      value: "0777"\n',
  ].join(''),
  'cm.yaml': [
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: postgres-operator\ndata:\n',
    '  enable_master_load_balancer: "false"\n  super_username: root\n',
  ].join(''),
  'cm-env.yaml': [
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: postgres-operator\ndata:\n',
    '  pod_environment_configmap: pod-env\n  pod_environment_secret: pod-secret\n',
    '  logical_backup_cronjob_environment_secret: backup-env\n  logical_backup_s3_bucket: backups\n',
  ].join(''),
  'pod-env.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pod-env\ndata:\n  WAL_S3_BUCKET: my-bucket\n',
  'pod-secret.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: pod-secret\ndata:\n  AWS_SECRET_ACCESS_KEY: c2VjcmV0\n',
  'backup-env.yaml': 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: backup-env\nstringData:\n  LOGICAL_BACKUP_S3_SSE: AES256\n',
};

function run(argv: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = runRender(argv, {
    readFile: (p) => {
      if (p === POSTGRESQL_CRD_FILE) return readFileSync(p, 'utf8');
      const f = files[p];
      if (f === undefined) throw new Error(`${p}: no such file`);
      return f;
    },
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    today: () => new Date('2026-05-05T15:00:00Z'),
  });
  return { code, out, err };
}

const docsOf = (out: string): KubeObject[] => parseAllDocuments(out).map((d) => d.toJS() as KubeObject);

describe('runRender', () => {
  it('prints every object as a YAML stream with placeholder passwords', () => {
    const { code, out, err } = run(['-f', 'pg.yaml', '--config', 'cm.yaml', '-n', 'db']);
    expect([code, err]).to.deep.equal([0, '']);
    const docs = docsOf(out);
    expect(docs.map((d) => d.kind)).to.include.members(['StatefulSet', 'Service', 'Secret', 'PodDisruptionBudget']);
    expect(docs.every((d) => d.metadata.namespace === 'db')).to.equal(true);
    expect(out).to.contain('placeholders (<generated-password-N>), not real secrets');
    expect(out).to.contain('root.acid-r.credentials.postgresql.acid.zalan.do');
    const secret = docs.find((d) => d.kind === 'Secret') as V1Secret;
    expect(Buffer.from(secret.data?.['password'] ?? '', 'base64').toString()).to.match(/^<generated-password-\d+>$/);
  });
  it('prints the same output twice', () => {
    expect(run(['-f', 'pg.yaml']).out).to.equal(run(['-f', 'pg.yaml']).out);
  });
  it('fails with the validation errors on stderr', () => {
    const { code, out, err } = run(['-f', 'bad.yaml']);
    expect([code, out]).to.deep.equal([1, '']);
    expect(err).to.match(/^error: acid-r: spec.postgresql.version: PostgreSQL version "9" is not supported/);
  });
  it('explains its usage when -f is missing', () => {
    expect(run([]).code).to.equal(2);
    expect(run([]).err).to.match(/usage: npm run render -- -f <manifest.yaml>/);
  });
  it('never emits YAML aliases for shared objects', () => {
    const { objects } = buildCluster(inputs(cluster({ enableLogicalBackup: true }), config(), { newPassword: placeholderPasswords() }));
    expect(renderYaml(objects)).to.not.match(/[&*]a\d/);
  });

  it('reports every problem at once: missing required fields, CRD patterns and formats, unknown fields, validation', () => {
    const { code, out, err } = run(['-f', 'many.yaml']);
    expect([code, out]).to.deep.equal([1, '']);
    const lines = err.trim().split('\n');
    const expected: [string, RegExp][] = [
      ['error', /spec\.teamId: spec\.teamId is required/],
      ['error', /spec\.volume: is required/],
      ['error', /spec\.allowedSourceRanges\[1\]: "10\.1\.0\.0\/33" does not match .*CIDR ranges/],
      ['error', /spec\.clone\.uid: "not-a-uid" is not a UUID/],
      ['warning', /spec\.enableShmVolumes: unknown field: the postgresql CRD does not define it, so the API server drops it/],
      ['error', /spec\.sidecars\[0\]\.image: invalid sidecar containers: container 'exporter': image is required/],
      ['warning', /spec\.env\[1\]\.name: The environment variable "A" is set twice in spec\.env; the first \(spec\.env\[0\]\) is used/],
    ];
    for (const [severity, message] of expected) {
      expect(
        lines.some((l) => l.startsWith(`${severity}: acid-r: `) && message.test(l)),
        `${severity} ${String(message)} in\n${err}`,
      ).to.equal(true);
    }
    expect(err).to.not.match(/allowedSourceRanges\[0\]/);
  });

  it('names each configured environment object whose contents were not given, with its flag, and renders nothing', () => {
    const { code, out, err } = run(['-f', 'backup.yaml', '--config', 'cm-env.yaml']);
    expect([code, out]).to.deep.equal([1, '']);
    expect(err).to.match(/the configuration names "pod-env": give its contents with --pod-env-configmap <file>/);
    expect(err).to.match(/the configuration names "pod-secret": give its contents with --pod-env-secret <file>/);
    expect(err).to.match(/the configuration names "backup-env": give its contents with --backup-env-secret <file>/);
  });

  it('renders the pod and backup environments from the flags', () => {
    const { code, out, err } = run([
      '-f',
      'backup.yaml',
      '--config',
      'cm-env.yaml',
      '--pod-env-configmap',
      'pod-env.yaml',
      '--pod-env-secret',
      'pod-secret.yaml',
      '--backup-env-secret',
      'backup-env.yaml',
    ]);
    expect([code, err]).to.deep.equal([0, '']);
    const docs = docsOf(out);
    const sts = docs.find((d) => d.kind === 'StatefulSet') as V1StatefulSet;
    const env = sts.spec?.template.spec?.containers[0]?.env ?? [];
    expect(env).to.deep.include({ name: 'WAL_S3_BUCKET', value: 'my-bucket' });
    expect(env).to.deep.include({
      name: 'AWS_SECRET_ACCESS_KEY',
      valueFrom: { secretKeyRef: { name: 'pod-secret', key: 'AWS_SECRET_ACCESS_KEY' } },
    });
    const job = docs.find((d) => d.kind === 'CronJob') as V1CronJob;
    expect(job.spec?.jobTemplate.spec?.template.spec?.containers[0]?.env).to.deep.include({
      name: 'LOGICAL_BACKUP_S3_SSE',
      valueFrom: { secretKeyRef: { name: 'backup-env', key: 'LOGICAL_BACKUP_S3_SSE' } },
    });
  });

  it('quotes every string a YAML 1.1 reader would take for a boolean, a timestamp or a number', () => {
    const { code, out } = run(['-f', 'yaml11.yaml']);
    expect(code).to.equal(0);
    for (const text of ['"yes"', '"2026-01-01"', '"on"', '"NO"', '"0777"']) expect(out).to.contain(text);
    expect(out).to.not.match(/: (yes|no|on|off|NO|2026-01-01|0777)$/m);
    // and a YAML 1.1 parse reads them back as the same strings
    const docs = parseAllDocuments(out, { version: '1.1' }).map((d) => d.toJS() as KubeObject);
    const sts = docs.find((d) => d.kind === 'StatefulSet') as V1StatefulSet;
    expect(sts.spec?.template.metadata?.annotations).to.include({ 'example.com/enabled': 'yes', 'example.com/since': '2026-01-01' });
    expect(sts.spec?.template.spec?.containers[0]?.env).to.deep.include.members([
      { name: 'FLAG_ON', value: 'on' },
      { name: 'FLAG_NO', value: 'NO' },
      { name: 'MODE', value: '0777' },
    ]);
  });
});
