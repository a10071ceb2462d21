import { expect } from 'chai';
import {
  API_VERSION,
  CLUSTER_STATUS,
  GROUP,
  OPERATOR_CONFIGURATION_CRD_NAME,
  POSTGRESQL_CRD_NAME,
  POSTGRESQL_KIND,
  POSTGRES_TEAM_CRD_NAME,
  VERSION,
  type ClusterStatus,
  type Postgresql,
  type PostgresTeam,
} from '@pgfn/api';

// A manifest using most spec fields; it must type-check with upstream's JSON names.
const cluster: Postgresql = {
  apiVersion: API_VERSION,
  kind: POSTGRESQL_KIND,
  metadata: { name: 'acid-test-cluster', namespace: 'default' },
  spec: {
    teamId: 'acid',
    numberOfInstances: 2,
    postgresql: { version: '17', parameters: { shared_buffers: '32MB' } },
    volume: { size: '1Gi', storageClass: 'standard', type: 'gp3', iops: 3000, throughput: 125 },
    resources: { requests: { cpu: '10m', memory: '100Mi' }, limits: { cpu: '500m', memory: '500Mi', 'hugepages-2Mi': '0' } },
    patroni: {
      ttl: 30,
      loop_wait: 10,
      retry_timeout: 10,
      pg_hba: ['local all all trust'],
      slots: { s1: { type: 'physical' } },
      failsafe_mode: false,
    },
    users: { zalando: ['superuser', 'createdb'], foo_user: [] },
    databases: { foo: 'zalando' },
    preparedDatabases: {
      bar: { defaultUsers: true, extensions: { pg_partman: 'public' }, schemas: { data: {}, history: { defaultRoles: true } } },
    },
    enableConnectionPooler: true,
    connectionPooler: { numberOfInstances: 2, mode: 'transaction', resources: { requests: { cpu: '300m' } } },
    allowedSourceRanges: ['127.0.0.1/32'],
    maintenanceWindows: ['Sat:01:00-06:00', '01:00-06:00'],
    clone: { cluster: 'acid-minimal-cluster', timestamp: '2026-01-01T00:00:00+00:00', s3_force_path_style: true },
    standby: { s3_wal_path: 's3://bucket/wal' },
    tls: { secretName: 'pg-tls', caFile: 'ca.crt' },
    additionalVolumes: [{ name: 'empty', mountPath: '/opt/empty', targetContainers: ['all'], volumeSource: { emptyDir: {} } }],
    sidecars: [{ name: 'exporter', image: 'exporter:1', ports: [{ containerPort: 9187 }], env: [{ name: 'A', value: 'b' }] }],
    streams: [
      { applicationId: 'app', database: 'foo', tables: { 'data.t': { eventType: 'ev', idColumn: 'id' } }, filter: { 'data.t': null } },
    ],
    enableShmVolume: true,
    enableLogicalBackup: true,
    logicalBackupSchedule: '30 00 * * *',
    spiloFSGroup: 103,
  },
  status: {
    PostgresClusterStatus: CLUSTER_STATUS.Running,
    observedGeneration: 1,
    conditions: [{ type: 'Ready', status: 'True', reason: 'Running' }],
  },
};

const team: PostgresTeam = {
  apiVersion: API_VERSION,
  kind: 'PostgresTeam',
  metadata: { name: 'custom-team-membership' },
  spec: {
    additionalSuperuserTeams: { acid: ['postgres_superusers'] },
    additionalTeams: { acid: [] },
    additionalMembers: { acid: ['elephant'] },
  },
};

describe('API constants and types', () => {
  it('name the acid.zalan.do/v1 resources as upstream registers them', () => {
    expect([GROUP, VERSION, API_VERSION]).to.deep.equal(['acid.zalan.do', 'v1', 'acid.zalan.do/v1']);
    expect([POSTGRESQL_CRD_NAME, POSTGRES_TEAM_CRD_NAME, OPERATOR_CONFIGURATION_CRD_NAME]).to.deep.equal([
      'postgresqls.acid.zalan.do',
      'postgresteams.acid.zalan.do',
      'operatorconfigurations.acid.zalan.do',
    ]);
    expect(cluster.kind).to.equal('postgresql');
    expect(team.spec.additionalMembers?.['acid']).to.deep.equal(['elephant']);
  });

  it('lists the cluster statuses of upstream const.go', () => {
    const all: ClusterStatus[] = Object.values(CLUSTER_STATUS);
    expect(all).to.have.members(['', 'Creating', 'Updating', 'UpdateFailed', 'SyncFailed', 'CreateFailed', 'Running', 'Invalid']);
  });
});
