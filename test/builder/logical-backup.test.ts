import type { OperatorConfig, PostgresSpec } from '@pgfn/api';
import { buildLogicalBackupCronJob, logicalBackupEnv } from '@pgfn/builder';
import { expect } from 'chai';
import { cluster, config } from './support.js';

const NAME = 'acid-test-cluster';
const backupCluster = (spec: Partial<PostgresSpec> = {}) =>
  cluster(
    { teamId: 'test', enableLogicalBackup: true, ...spec },
    {
      name: NAME,
      labels: { labelKey: 'labelValue' },
      annotations: { annotationKey: 'annotationValue' },
    },
  );
const base: Partial<OperatorConfig> = {
  clusterLabels: {},
  defaultCpuRequest: '100m',
  defaultCpuLimit: '1',
  defaultMemoryRequest: '100Mi',
  defaultMemoryLimit: '500Mi',
};

// Upstream TestGenerateLogicalBackupJob (pkg/cluster/k8sres_test.go), re-expressed.
interface JobCase {
  about: string;
  config: Partial<OperatorConfig>;
  schedule?: string;
  expectSchedule: string;
  expectName: string;
  expectResources: { requests: Record<string, string>; limits: Record<string, string> };
  expectLabels: Record<string, string>;
  expectAnnotations?: Record<string, string>;
}
const LABELS = { application: 'spilo-logical-backup', 'cluster-name': NAME, team: 'test' };
const DEFAULT_RESOURCES = { requests: { cpu: '100m', memory: '100Mi' }, limits: { cpu: '1', memory: '500Mi' } };
const CASES: JobCase[] = [
  {
    about: 'takes the default resources when none are configured',
    config: { logicalBackupJobPrefix: 'logical-backup-', logicalBackupSchedule: '30 00 * * *' },
    expectSchedule: '30 00 * * *',
    expectName: 'logical-backup-acid-test-cluster',
    expectResources: DEFAULT_RESOURCES,
    expectLabels: LABELS,
  },
  {
    about: 'takes configured resources and the manifest schedule',
    config: {
      logicalBackupCpuRequest: '10m',
      logicalBackupCpuLimit: '300m',
      logicalBackupMemoryRequest: '50Mi',
      logicalBackupMemoryLimit: '300Mi',
      logicalBackupJobPrefix: 'lb-',
      logicalBackupSchedule: '30 00 * * *',
    },
    schedule: '30 00 * * 7',
    expectSchedule: '30 00 * * 7',
    expectName: 'lb-acid-test-cluster',
    expectResources: { requests: { cpu: '10m', memory: '50Mi' }, limits: { cpu: '300m', memory: '300Mi' } },
    expectLabels: LABELS,
  },
  {
    about: 'fills partly configured resources from the defaults',
    config: {
      logicalBackupCpuRequest: '50m',
      logicalBackupCpuLimit: '250m',
      logicalBackupJobPrefix: '',
      logicalBackupSchedule: '30 00 * * *',
    },
    expectSchedule: '30 00 * * *',
    expectName: NAME,
    expectResources: { requests: { cpu: '50m', memory: '100Mi' }, limits: { cpu: '250m', memory: '500Mi' } },
    expectLabels: LABELS,
  },
  {
    about: 'raises the memory request to the limit with set_memory_request_to_limit, and trims a long name',
    config: {
      logicalBackupMemoryRequest: '80Mi',
      logicalBackupMemoryLimit: '200Mi',
      logicalBackupJobPrefix: 'test-long-prefix-so-name-must-be-trimmed-',
      logicalBackupSchedule: '30 00 * * *',
      setMemoryRequestToLimit: true,
    },
    expectSchedule: '30 00 * * *',
    expectName: 'test-long-prefix-so-name-must-be-trimmed-acid-test-c',
    expectResources: { requests: { cpu: '100m', memory: '200Mi' }, limits: { cpu: '1', memory: '200Mi' } },
    expectLabels: LABELS,
  },
  {
    about: 'adds inherited labels',
    config: { inheritedLabels: ['labelKey'], logicalBackupJobPrefix: '', logicalBackupSchedule: '' },
    expectSchedule: '',
    expectName: NAME,
    expectResources: DEFAULT_RESOURCES,
    expectLabels: { ...LABELS, labelKey: 'labelValue' },
  },
  {
    about: 'adds inherited annotations',
    config: { inheritedAnnotations: ['annotationKey'], logicalBackupJobPrefix: '', logicalBackupSchedule: '' },
    expectSchedule: '',
    expectName: NAME,
    expectResources: DEFAULT_RESOURCES,
    expectLabels: LABELS,
    expectAnnotations: { annotationKey: 'annotationValue' },
  },
];

describe('buildLogicalBackupCronJob', () => {
  for (const tc of CASES) {
    it(tc.about, () => {
      const job = buildLogicalBackupCronJob(
        backupCluster(tc.schedule ? { logicalBackupSchedule: tc.schedule } : {}),
        config({ ...base, ...tc.config }),
      );
      expect(job?.metadata?.name).to.equal(tc.expectName);
      expect(job?.spec?.schedule).to.equal(tc.expectSchedule);
      expect(job?.metadata?.labels).to.deep.equal(tc.expectLabels);
      expect(job?.metadata?.annotations).to.deep.equal(tc.expectAnnotations);
      expect(job?.metadata?.ownerReferences).to.equal(undefined);
      expect(job?.spec?.jobTemplate.spec?.template.spec?.containers[0]?.resources).to.deep.equal(tc.expectResources);
      expect([job?.spec?.successfulJobsHistoryLimit, job?.spec?.failedJobsHistoryLimit]).to.deep.equal([3, 3]);
      expect(job?.spec?.jobTemplate.spec?.ttlSecondsAfterFinished).to.equal(86400);
      expect(job?.spec?.concurrencyPolicy).to.equal('Forbid');
    });
  }

  it('runs once, as the pod service account, preferring the node of earlier backups', () => {
    const pod = buildLogicalBackupCronJob(backupCluster(), config(base))?.spec?.jobTemplate.spec?.template.spec;
    expect(pod?.restartPolicy).to.equal('Never');
    expect(pod?.serviceAccountName).to.equal('postgres-pod');
    expect(pod?.affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.topologyKey).to.equal(
      'kubernetes.io/hostname',
    );
  });
  it('is undefined without enableLogicalBackup', () => {
    expect(buildLogicalBackupCronJob(cluster(), config())).to.equal(undefined);
  });
  it('passes the keys of logical_backup_cronjob_environment_secret as secret references, sorted', () => {
    const job = buildLogicalBackupCronJob(backupCluster(), config({ logicalBackupCronjobEnvironmentSecret: 'backup-env' }), {
      ZED: 'x',
      ALPHA: 'y',
    });
    const env = job?.spec?.jobTemplate.spec?.template.spec?.containers[0]?.env ?? [];
    expect(env.slice(-2)).to.deep.equal([
      { name: 'ALPHA', valueFrom: { secretKeyRef: { name: 'backup-env', key: 'ALPHA' } } },
      { name: 'ZED', valueFrom: { secretKeyRef: { name: 'backup-env', key: 'ZED' } } },
    ]);
  });
  it('refuses to build without the data of a configured logical_backup_cronjob_environment_secret (never drops it silently)', () => {
    expect(() => buildLogicalBackupCronJob(backupCluster(), config({ logicalBackupCronjobEnvironmentSecret: 'backup-env' }))).to.throw(
      /logical_backup_cronjob_environment_secret "backup-env" is configured, but its data was not read/,
    );
  });
  it('adds the IAM role annotation to the backup pods', () => {
    const job = buildLogicalBackupCronJob(backupCluster(), config({ kubeIamRole: 'arn:backup' }));
    expect(job?.spec?.jobTemplate.spec?.template.metadata?.annotations).to.deep.equal({ 'iam.amazonaws.com/role': 'arn:backup' });
  });
});

describe('logicalBackupEnv', () => {
  // Upstream TestGenerateLogicalBackupPodEnvVars: positions and values.
  const uid = 'efd12e58-5786-11e8-b5a7-06148230260c';
  const bucket = 'dummy-backup-location';
  const cases: [string, Partial<OperatorConfig>, Partial<PostgresSpec>, [number, string, string][]][] = [
    [
      's3',
      {
        logicalBackupProvider: 's3',
        logicalBackupS3Bucket: bucket,
        logicalBackupS3BucketPrefix: 'spilo',
        logicalBackupS3Region: 'eu-central-1',
        logicalBackupS3RetentionTime: '1 month',
      },
      {},
      [
        [9, 'LOGICAL_BACKUP_PROVIDER', 's3'],
        [10, 'LOGICAL_BACKUP_S3_BUCKET', bucket],
        [11, 'LOGICAL_BACKUP_S3_BUCKET_PREFIX', 'spilo'],
        [12, 'LOGICAL_BACKUP_S3_BUCKET_SCOPE_SUFFIX', `/${uid}`],
        [13, 'LOGICAL_BACKUP_S3_REGION', 'eu-central-1'],
        [14, 'LOGICAL_BACKUP_S3_ENDPOINT', ''],
        [15, 'LOGICAL_BACKUP_S3_SSE', ''],
        [16, 'LOGICAL_BACKUP_S3_RETENTION_TIME', '1 month'],
      ],
    ],
    [
      'gcs',
      {
        logicalBackupProvider: 'gcs',
        logicalBackupS3Bucket: bucket,
        logicalBackupGoogleApplicationCredentials: 'some-path-to-credentials',
      },
      {},
      [
        [9, 'LOGICAL_BACKUP_PROVIDER', 'gcs'],
        [13, 'LOGICAL_BACKUP_GOOGLE_APPLICATION_CREDENTIALS', 'some-path-to-credentials'],
      ],
    ],
    [
      'az',
      {
        logicalBackupProvider: 'az',
        logicalBackupS3Bucket: bucket,
        logicalBackupAzureStorageAccountName: 'some-azure-storage-account-name',
        logicalBackupAzureStorageContainer: 'some-azure-storage-container',
        logicalBackupAzureStorageAccountKey: 'some-azure-storage-account-key',
      },
      {},
      [
        [9, 'LOGICAL_BACKUP_PROVIDER', 'az'],
        [13, 'LOGICAL_BACKUP_AZURE_STORAGE_ACCOUNT_NAME', 'some-azure-storage-account-name'],
        [14, 'LOGICAL_BACKUP_AZURE_STORAGE_CONTAINER', 'some-azure-storage-container'],
        [15, 'LOGICAL_BACKUP_AZURE_STORAGE_ACCOUNT_KEY', 'some-azure-storage-account-key'],
      ],
    ],
    [
      'the manifest retention over the configured one',
      { logicalBackupProvider: 's3', logicalBackupS3RetentionTime: '1 month' },
      { logicalBackupRetention: '3 months' },
      [[16, 'LOGICAL_BACKUP_S3_RETENTION_TIME', '3 months']],
    ],
  ];
  for (const [about, cfg, spec, expected] of cases) {
    it(`sets the variables for ${about}`, () => {
      const env = logicalBackupEnv(cluster(spec, { uid }), config(cfg));
      for (const [index, name, value] of expected) expect(env[index], name).to.deep.equal({ name, value });
    });
  }
  it('starts with the cluster, the namespace and the superuser login', () => {
    const env = logicalBackupEnv(cluster(), config());
    expect(env.slice(0, 9).map((e) => e.name)).to.deep.equal([
      'SCOPE',
      'CLUSTER_NAME_LABEL',
      'POD_NAMESPACE',
      'PG_VERSION',
      'PGPORT',
      'PGUSER',
      'PGDATABASE',
      'PGSSLMODE',
      'PGPASSWORD',
    ]);
    expect(env[8]?.valueFrom?.secretKeyRef).to.deep.equal({
      name: 'postgres.acid-test.credentials.postgresql.acid.zalan.do',
      key: 'password',
    });
  });
  it('passes S3 keys only when configured', () => {
    const names = logicalBackupEnv(cluster(), config({ logicalBackupS3AccessKeyId: 'AK', logicalBackupS3SecretAccessKey: 'SK' })).map(
      (e) => e.name,
    );
    expect(names).to.include.members(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
    expect(logicalBackupEnv(cluster(), config()).map((e) => e.name)).to.not.include('AWS_ACCESS_KEY_ID');
  });
});
