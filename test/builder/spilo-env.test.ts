// Re-expresses upstream's TestGenerateSpiloPodEnvVars, TestCloneEnv, TestStandbyEnv and
// TestAppendEnvVar (pkg/cluster/k8sres_test.go).
import { expect } from 'chai';
import type { V1EnvVar, V1EnvVarSource } from '@kubernetes/client-node';
import type { CloneDescription, OperatorConfig, PostgresSpec, StandbyDescription } from '@pgfn/api';
import { cloneEnv, standbyEnv } from '../../shared/builder/src/clone-standby-env.js';
import { appendEnvVars } from '../../shared/builder/src/env-vars.js';
import { desiredMajorVersion, spiloEnv, type PodEnvironmentInputs } from '../../shared/builder/src/spilo-env.js';
import { envNames, makeCluster, makeConfig, upstreamTestConfig } from './sts-fixtures.js';

const uid = 'efd12e58-5786-11e8-b5a7-06148230260c';
const secretName = 'pod_env_sc';
const inputs: PodEnvironmentInputs = {
  configMap: {
    clone_aws_endpoint: 's3.eu-west-1.amazonaws.com',
    custom_variable: 'configmap-test',
    kubernetes_scope_label: 'pgaas',
    wal_s3_bucket: 'global-s3-bucket-configmap',
  },
  secret: {
    clone_aws_access_key_id: '0123456789abcdef0123456789abcdef',
    custom_variable: 'secret-test',
    standby_google_application_credentials: '0123456789abcdef0123456789abcdef',
  },
};
const withConfigMap: Partial<OperatorConfig> = { podEnvironmentConfigmap: { namespace: '', name: 'pod_env_cm' } };
const withSecret: Partial<OperatorConfig> = { podEnvironmentSecret: secretName };
const fromSecret = (key: string): V1EnvVarSource => ({ secretKeyRef: { name: secretName, key } });
const pitrClone: CloneDescription = { cluster: 'test-cluster', timestamp: 'somewhen', uid };

type Expected = [index: number, name: string, value: string | V1EnvVarSource];

interface Case {
  name: string;
  config: Partial<OperatorConfig>;
  spec?: Partial<PostgresSpec>;
  expected: Expected[];
}

// Indices as upstream's zero-valued test configuration produces them: 0-11 operator variables,
// 12 KUBERNETES_LABELS, 13 SPILO_CONFIGURATION, 14 DCS_ENABLE_KUBERNETES_API, 15 KUBERNETES_USE_CONFIGMAPS.
const cases: Case[] = [
  { name: 'sets ENABLE_WAL_PATH_COMPAT', config: { enableSpiloWalPathCompat: true }, expected: [[12, 'ENABLE_WAL_PATH_COMPAT', 'true']] },
  {
    name: 'sets WAL_S3_BUCKET with the uid-scoped suffix',
    config: { walS3Bucket: 'global-s3-bucket' },
    expected: [
      [16, 'WAL_S3_BUCKET', 'global-s3-bucket'],
      [17, 'WAL_BUCKET_SCOPE_SUFFIX', `/${uid}`],
      [18, 'WAL_BUCKET_SCOPE_PREFIX', ''],
    ],
  },
  {
    name: 'sets GOOGLE_APPLICATION_CREDENTIALS',
    config: { walGsBucket: 'global-gs-bucket', gcpCredentials: 'some-path-to-credentials' },
    expected: [
      [16, 'WAL_GS_BUCKET', 'global-gs-bucket'],
      [17, 'WAL_BUCKET_SCOPE_SUFFIX', `/${uid}`],
      [18, 'WAL_BUCKET_SCOPE_PREFIX', ''],
      [19, 'GOOGLE_APPLICATION_CREDENTIALS', 'some-path-to-credentials'],
    ],
  },
  {
    name: 'does not let the manifest or the config map override KUBERNETES_SCOPE_LABEL',
    config: { clusterNameLabel: 'cluster-name', ...withConfigMap },
    spec: { env: [{ name: 'KUBERNETES_SCOPE_LABEL', value: 'my-scope-label' }] },
    expected: [[5, 'KUBERNETES_SCOPE_LABEL', 'cluster-name']],
  },
  {
    name: 'lets the pod environment config map override the configured WAL_S3_BUCKET',
    config: { ...withConfigMap, walS3Bucket: 'global-s3-bucket' },
    expected: [[18, 'wal_s3_bucket', 'global-s3-bucket-configmap']],
  },
  {
    name: 'lets the manifest env override the configured WAL bucket',
    config: { walGsBucket: 'global-s3-bucket' },
    spec: { env: [{ name: 'WAL_S3_BUCKET', value: 'custom-s3-bucket' }] },
    expected: [[16, 'WAL_S3_BUCKET', 'custom-s3-bucket']],
  },
  {
    name: 'takes a variable from the pod environment secret before the config map',
    config: { ...withConfigMap, ...withSecret },
    expected: [[17, 'custom_variable', fromSecret('custom_variable')]],
  },
  {
    name: 'takes a variable from the pod environment config map',
    config: withConfigMap,
    expected: [[17, 'custom_variable', 'configmap-test']],
  },
  {
    name: 'lets the manifest env override the pod environment secret and config map',
    config: { ...withConfigMap, ...withSecret },
    spec: { env: [{ name: 'CUSTOM_VARIABLE', value: 'spec-env-test' }] },
    expected: [[16, 'CUSTOM_VARIABLE', 'spec-env-test']],
  },
  {
    name: 'takes CLONE_ variables from the clone section before config and config map',
    config: { ...withConfigMap, walS3Bucket: 'global-s3-bucket' },
    spec: { clone: { ...pitrClone, s3_wal_path: 's3://another-bucket', s3_endpoint: 's3.eu-central-1.amazonaws.com' } },
    expected: [
      [17, 'CLONE_WALE_S3_PREFIX', 's3://another-bucket'],
      [20, 'CLONE_WAL_BUCKET_SCOPE_PREFIX', ''],
      [21, 'CLONE_AWS_ENDPOINT', 's3.eu-central-1.amazonaws.com'],
    ],
  },
  {
    // Upstream appends the clone section without de-duplication, so CLONE_WAL_BUCKET_SCOPE_PREFIX
    // appeared twice (index 21) and the later, empty value won in the container. Here the manifest
    // wins as documented, and every name appears once (server-side apply rejects duplicates).
    name: 'lets the manifest env override the clone section',
    config: { ...withConfigMap, walS3Bucket: 'global-s3-bucket' },
    spec: {
      env: [{ name: 'CLONE_WAL_BUCKET_SCOPE_PREFIX', value: 'test-cluster' }],
      clone: { ...pitrClone, s3_wal_path: 's3://another-bucket', s3_endpoint: 's3.eu-central-1.amazonaws.com' },
    },
    expected: [
      [16, 'CLONE_WAL_BUCKET_SCOPE_PREFIX', 'test-cluster'],
      [18, 'CLONE_WALE_S3_PREFIX', 's3://another-bucket'],
      [21, 'CLONE_AWS_ENDPOINT', 's3.eu-central-1.amazonaws.com'],
    ],
  },
  {
    name: 'takes the clone bucket from the configuration and CLONE_AWS_ENDPOINT from the config map',
    config: { ...withConfigMap, walS3Bucket: 'global-s3-bucket' },
    spec: { clone: pitrClone },
    expected: [
      [17, 'CLONE_WAL_S3_BUCKET', 'global-s3-bucket'],
      [18, 'CLONE_WAL_BUCKET_SCOPE_SUFFIX', `/${uid}`],
      [22, 'clone_aws_endpoint', 's3.eu-west-1.amazonaws.com'],
    ],
  },
  {
    name: 'takes CLONE_AWS_ACCESS_KEY_ID from the pod environment secret',
    config: { ...withSecret, walS3Bucket: 'global-s3-bucket' },
    spec: { clone: pitrClone },
    expected: [[22, 'clone_aws_access_key_id', fromSecret('clone_aws_access_key_id')]],
  },
  {
    name: 'takes STANDBY_GOOGLE_APPLICATION_CREDENTIALS from the pod environment secret',
    config: { ...withSecret, walS3Bucket: 'global-s3-bucket' },
    spec: { standby: { gs_wal_path: 'gs://some/path/' } },
    expected: [
      [16, 'STANDBY_WALE_GS_PREFIX', 'gs://some/path/'],
      [21, 'standby_google_application_credentials', fromSecret('standby_google_application_credentials')],
    ],
  },
];

describe('spiloEnv', () => {
  for (const tc of cases) {
    it(tc.name, () => {
      const env = spiloEnv(makeCluster(tc.spec ?? {}), upstreamTestConfig(tc.config), '{}', inputs);
      for (const [index, name, value] of tc.expected) {
        const actual = env[index];
        expect(actual?.name, `name at ${index} in ${envNames(env).join(',')}`).to.equal(name);
        if (typeof value === 'string') expect(actual?.value, name).to.equal(value);
        else expect(actual?.valueFrom, name).to.deep.equal(value);
      }
      expect(new Set(envNames(env).map((n) => n.toLowerCase())).size, 'names are unique').to.equal(env.length);
    });
  }

  it('starts with the operator variables in upstream order', () => {
    const env = spiloEnv(makeCluster(), makeConfig(), '{"x":1}', {});
    expect(envNames(env)).to.deep.equal([
      'SCOPE',
      'PGROOT',
      'POD_IP',
      'POD_NAMESPACE',
      'PGUSER_SUPERUSER',
      'KUBERNETES_SCOPE_LABEL',
      'KUBERNETES_ROLE_LABEL',
      'PGPASSWORD_SUPERUSER',
      'PGUSER_STANDBY',
      'PGPASSWORD_STANDBY',
      'PAM_OAUTH2',
      'HUMAN_ROLE',
      'PGVERSION',
      'KUBERNETES_LABELS',
      'SPILO_CONFIGURATION',
      'DCS_ENABLE_KUBERNETES_API',
      'KUBERNETES_BOOTSTRAP_LABELS',
      'KUBERNETES_USE_CONFIGMAPS',
    ]);
    const byName = (n: string): V1EnvVar | undefined => env.find((e) => e.name === n);
    expect(byName('SCOPE')?.value).to.equal('acid-test-cluster');
    expect(byName('PGROOT')?.value).to.equal('/home/postgres/pgdata/pgroot');
    expect(byName('POD_IP')?.valueFrom).to.deep.equal({ fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } });
    expect(byName('PGPASSWORD_SUPERUSER')?.valueFrom).to.deep.equal({
      secretKeyRef: { name: 'postgres.acid-test-cluster.credentials.postgresql.acid.zalan.do', key: 'password' },
    });
    expect(byName('PGPASSWORD_STANDBY')?.valueFrom?.secretKeyRef?.name).to.equal(
      'standby.acid-test-cluster.credentials.postgresql.acid.zalan.do',
    );
    expect(byName('PGVERSION')?.value).to.equal('15');
    expect(byName('KUBERNETES_LABELS')?.value).to.equal('{"application":"spilo"}');
    expect(byName('KUBERNETES_BOOTSTRAP_LABELS')?.value).to.equal('{"critical-operation":"true"}');
  });

  it('uses etcd instead of the Kubernetes API when etcd_host is set', () => {
    const names = envNames(spiloEnv(makeCluster(), makeConfig({ etcdHost: 'etcd:2379' }), '', {}));
    expect(names).to.include('ETCD_HOST');
    expect(names).not.to.include.members(['DCS_ENABLE_KUBERNETES_API', 'KUBERNETES_USE_CONFIGMAPS', 'SPILO_CONFIGURATION']);
  });

  it('keeps Patroni on Endpoints when kubernetes_use_configmaps is false', () => {
    expect(envNames(spiloEnv(makeCluster(), makeConfig({ kubernetesUseConfigmaps: false }), '', {}))).not.to.include(
      'KUBERNETES_USE_CONFIGMAPS',
    );
  });

  it('sets the log bucket with the uid-scoped suffix', () => {
    const env = spiloEnv(makeCluster(), makeConfig({ logS3Bucket: 'logs' }), '', {});
    expect(env.slice(-3)).to.deep.equal([
      { name: 'LOG_S3_BUCKET', value: 'logs' },
      { name: 'LOG_BUCKET_SCOPE_SUFFIX', value: `/${uid}` },
      { name: 'LOG_BUCKET_SCOPE_PREFIX', value: '' },
    ]);
  });

  it('fails with a clear message when a configured environment source was not read', () => {
    expect(() => spiloEnv(makeCluster(), makeConfig(withConfigMap), '', {})).to.throw(/pod_environment_configmap "pod_env_cm"/);
    expect(() => spiloEnv(makeCluster(), makeConfig(withSecret), '', {})).to.throw(/pod_environment_secret "pod_env_sc"/);
  });

  describe('desiredMajorVersion', () => {
    const table: [string, Partial<OperatorConfig>, string][] = [
      ['13', { majorVersionUpgradeMode: 'manual' }, '13'],
      ['13', { majorVersionUpgradeMode: 'full', minimalMajorVersion: '14', targetMajorVersion: '17' }, '17'],
      ['15', { majorVersionUpgradeMode: 'full', minimalMajorVersion: '14', targetMajorVersion: '17' }, '15'],
    ];
    for (const [version, config, expected] of table) {
      it(`runs ${expected} for manifest version ${version} with mode ${config.majorVersionUpgradeMode}`, () => {
        expect(desiredMajorVersion(makeCluster({ postgresql: { version } }), makeConfig(config))).to.equal(expected);
      });
    }
  });
});

describe('cloneEnv', () => {
  const config = makeConfig({ walS3Bucket: 'wale-bucket' });
  const cases: [string, CloneDescription, number, string, string][] = [
    [
      'uses a custom S3 path',
      { cluster: 'test-cluster', s3_wal_path: 's3://some/path/', timestamp: 'somewhen' },
      1,
      'CLONE_WALE_S3_PREFIX',
      's3://some/path/',
    ],
    [
      'generates the S3 path from the bucket',
      { cluster: 'test-cluster', timestamp: 'somewhen', uid: '0000' },
      1,
      'CLONE_WAL_S3_BUCKET',
      'wale-bucket',
    ],
    ['sets the target time', { cluster: 'test-cluster', timestamp: 'somewhen', uid: '0000' }, 4, 'CLONE_TARGET_TIME', 'somewhen'],
  ];
  for (const [name, clone, index, envName, value] of cases) {
    it(name, () => {
      const env = cloneEnv(clone, config);
      expect(env[index]).to.deep.equal({ name: envName, value });
    });
  }

  it('clones with pg_basebackup from the source service without a timestamp', () => {
    expect(cloneEnv({ cluster: 'source' }, config)).to.deep.equal([
      { name: 'CLONE_SCOPE', value: 'source' },
      { name: 'CLONE_METHOD', value: 'CLONE_WITH_BASEBACKUP' },
      { name: 'CLONE_HOST', value: 'source' },
      { name: 'CLONE_PORT', value: '5432' },
      { name: 'CLONE_USER', value: 'standby' },
      {
        name: 'CLONE_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'standby.source.credentials.postgresql.acid.zalan.do', key: 'password' } },
      },
    ]);
  });

  it('sets nothing without a source cluster', () => {
    expect(cloneEnv({}, config)).to.deep.equal([]);
    expect(cloneEnv(undefined, config)).to.deep.equal([]);
  });

  it('passes S3 credentials, path style and the IRSA role', () => {
    const env = cloneEnv(
      { cluster: 's', timestamp: 't', s3_access_key_id: 'id', s3_secret_access_key: 'key', s3_force_path_style: true },
      makeConfig({ walS3Bucket: 'b', irsaRoleArn: 'arn:role' }),
    );
    expect(env.map((e) => `${e.name}=${e.value}`)).to.include.members([
      'CLONE_AWS_ACCESS_KEY_ID=id',
      'CLONE_AWS_SECRET_ACCESS_KEY=key',
      'CLONE_AWS_S3_FORCE_PATH_STYLE=1',
      'CLONE_AWS_ROLE_ARN=arn:role',
    ]);
  });
});

describe('standbyEnv', () => {
  const cases: [string, StandbyDescription, number, string, string, number][] = [
    ['reads WAL from a custom S3 path', { s3_wal_path: 's3://some/path/' }, 0, 'STANDBY_WALE_S3_PREFIX', 's3://some/path/', 3],
    [
      'ignores the GS path when an S3 path is set',
      { s3_wal_path: 's3://some/path/', gs_wal_path: 'gs://some/path/' },
      1,
      'STANDBY_METHOD',
      'STANDBY_WITH_WALE',
      3,
    ],
    ['streams from a remote primary', { standby_host: 'remote-primary' }, 0, 'STANDBY_HOST', 'remote-primary', 1],
    ['streams from a remote primary with a port', { standby_host: 'remote-primary', standby_port: '9876' }, 1, 'STANDBY_PORT', '9876', 2],
    [
      'streams from a remote primary with an S3 WAL path',
      { s3_wal_path: 's3://some/path/', standby_host: 'remote-primary' },
      0,
      'STANDBY_HOST',
      'remote-primary',
      4,
    ],
    [
      'sets the S3 WAL path beside the standby host',
      { s3_wal_path: 's3://some/path/', standby_host: 'remote-primary' },
      1,
      'STANDBY_WALE_S3_PREFIX',
      's3://some/path/',
      4,
    ],
    [
      'streams from a remote primary with a GCS WAL path',
      { gs_wal_path: 'gs://some/path/', standby_host: 'remote-primary' },
      0,
      'STANDBY_HOST',
      'remote-primary',
      4,
    ],
    [
      'uses a primary slot name',
      { standby_host: 'remote-primary', standby_primary_slot_name: 'my_slot' },
      1,
      'STANDBY_PRIMARY_SLOT_NAME',
      'my_slot',
      2,
    ],
  ];
  for (const [name, standby, index, envName, value, length] of cases) {
    it(name, () => {
      const env = standbyEnv(standby, makeConfig());
      expect(env[index]).to.deep.equal({ name: envName, value });
      expect(env).to.have.length(length);
    });
  }
});

describe('appendEnvVars', () => {
  const base: V1EnvVar[] = [{ name: 'CUSTOM_VARIABLE', value: 'test' }];
  const cases: [string, V1EnvVar[], number][] = [
    [
      'rejects a variable whose name is taken, in any case',
      [
        { name: 'custom_variable', value: 'new' },
        { name: 'ANOTHER', value: 'x' },
      ],
      2,
    ],
    ['appends nothing from an empty list', [], 1],
  ];
  for (const [name, more, size] of cases) {
    it(name, () => {
      const out = appendEnvVars(base, ...more);
      expect(out).to.have.length(size);
      expect(out[0]).to.deep.equal({ name: 'CUSTOM_VARIABLE', value: 'test' });
    });
  }
});
