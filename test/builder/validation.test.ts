import type { OperatorConfig, Postgresql, PostgresSpec } from '@pgfn/api';
import { extractClusterName, isBuildable, maintenanceWindowProblem, validateCluster, type ValidationError } from '@pgfn/builder';
import { expect } from 'chai';
import { cluster, config } from './support.js';

const problems = (c: Postgresql, cfg: OperatorConfig = config()): ValidationError[] => validateCluster(c, cfg);
const at = (list: ValidationError[], path: string): ValidationError[] => list.filter((e) => e.path === path);
const only = (severity: 'error' | 'warning', list: ValidationError[]): ValidationError[] => list.filter((e) => e.severity === severity);

describe('validateCluster', () => {
  it('accepts a minimal valid cluster without remarks', () => {
    expect(problems(cluster())).to.deep.equal([]);
  });

  it('accepts a sidecar without a name, as upstream (it becomes sidecar-0)', () => {
    expect(problems(cluster({ sidecars: [{ image: 'busybox' }] }))).to.deep.equal([]);
  });

  it('reports the other problems beside the missing required fields', () => {
    const c = {
      apiVersion: 'acid.zalan.do/v1',
      kind: 'postgresql',
      metadata: { name: 'acid-x' },
      spec: { numberOfInstances: 1, users: { 'App!': [] }, sidecars: [{ name: 'exporter' }] },
    } as unknown as Postgresql;
    expect(problems(c).map((e) => e.path)).to.include.members([
      'spec.teamId',
      'spec.postgresql.version',
      'spec.volume.size',
      'spec.users.App!',
      'spec.sidecars[0].image',
    ]);
  });

  it('names every missing required field', () => {
    const c = { apiVersion: 'acid.zalan.do/v1', kind: 'postgresql', metadata: { name: 'acid-x' }, spec: {} } as unknown as Postgresql;
    expect(problems(c).map((e) => e.path)).to.deep.equal([
      'spec.teamId',
      'spec.numberOfInstances',
      'spec.postgresql.version',
      'spec.volume.size',
    ]);
  });

  const errors: [string, Partial<PostgresSpec>, Partial<Postgresql['metadata']>, Partial<OperatorConfig>, string, RegExp][] = [
    [
      'a database name that needs quoting',
      { users: { owner: [] }, databases: { 'my-db': 'owner' } },
      {},
      {},
      'spec.databases.my-db',
      /is not valid: it must start with a letter or "_"/,
    ],
    [
      'a database name longer than 63 bytes',
      { users: { owner: [] }, databases: { ['d'.repeat(64)]: 'owner' } },
      {},
      {},
      `spec.databases.${'d'.repeat(64)}`,
      /at most 63 bytes/,
    ],
    [
      'a database owner that is no role name',
      { databases: { app: 'own"er' } },
      {},
      {},
      'spec.databases.app',
      /owner "own"er".*not a valid role name/,
    ],
    [
      'a role name longer than 63 bytes',
      { users: { ['u'.repeat(64)]: [] } },
      {},
      {},
      `spec.users.${'u'.repeat(64)}`,
      /longer than 63 bytes/,
    ],
    [
      'a prepared database with a bad name',
      { preparedDatabases: { 'bad db': {} } },
      {},
      {},
      'spec.preparedDatabases.bad db',
      /prepared database name "bad db" is not valid/,
    ],
    [
      'a prepared schema with a bad name',
      { preparedDatabases: { app: { schemas: { 'bad schema': {} } } } },
      {},
      {},
      'spec.preparedDatabases.app.schemas.bad schema',
      /schema name "bad schema" is not valid/,
    ],
    [
      "a sidecar without an image (upstream's text)",
      { sidecars: [{ name: 'exporter' }] },
      {},
      {},
      'spec.sidecars[0].image',
      /container 'exporter': image is required/,
    ],
    [
      'an init container without an image',
      { initContainers: [{ name: 'setup' }] },
      {},
      {},
      'spec.initContainers[0].image',
      /invalid init containers: container 'setup': image is required/,
    ],
    [
      'an init container without a name',
      { initContainers: [{ image: 'busybox' }] as never },
      {},
      {},
      'spec.initContainers[0].name',
      /container\[0\]: name is required/,
    ],
    [
      'a configured sidecar without a name',
      {},
      {},
      { sidecars: [{ image: 'busybox' } as never] },
      'configuration sidecars[0].name',
      /invalid sidecar containers: container\[0\]: name is required/,
    ],
    [
      'a configured sidecar without an image',
      {},
      {},
      { sidecars: [{ name: 'log-shipper' }] },
      'configuration sidecars[0].image',
      /container 'log-shipper': image is required/,
    ],
    ['two containers with one name', { sidecars: [{ name: 'postgres', image: 'busybox' }] }, {}, {}, 'spec.sidecars[0].name', /used twice/],
    [
      'an unsupported version',
      { postgresql: { version: '12' } },
      {},
      {},
      'spec.postgresql.version',
      /version "12" is not supported; use one of 14, 15, 16, 17, 18/,
    ],
    [
      'conflicting role options',
      { users: { app: ['login', 'nologin'] } },
      {},
      {},
      'spec.users.app',
      /options of role "app" are not valid: the options LOGIN and NOLOGIN contradict/,
    ],
    ['an unknown role option', { users: { app: ['superuser1'] } }, {}, {}, 'spec.users.app', /"superuser1" is not a role option/],
    ['an invalid role name', { users: { 'App!': [] } }, {}, {}, 'spec.users.App!', /role name "App!" is not valid/],
    ['a cluster name that is too long', {}, { name: `acid-${'x'.repeat(60)}` }, {}, 'metadata.name', /at most 58 are allowed/],
    ['a cluster name with capitals', {}, { name: 'Acid-Test' }, {}, 'metadata.name', /lower-case letters/],
    [
      'a name without the team prefix when the config requires it',
      { teamId: 'billing' },
      {},
      { enableTeamIdClusternamePrefix: true },
      'metadata.name',
      /must start with the team ID and a dash \("billing-…"\)/,
    ],
    [
      'a clone timestamp without a UTC offset',
      { clone: { cluster: 'acid-src', timestamp: '2026-11-20T23:30:00' } },
      {},
      {},
      'spec.clone.timestamp',
      /with a UTC offset/,
    ],
    [
      'a clone source that is not a Service name',
      { clone: { cluster: 'foo+bar' } },
      {},
      {},
      'spec.clone.cluster',
      /must be a valid Service name/,
    ],
    [
      'two standby archives',
      { standby: { s3_wal_path: 's3://a', gs_wal_path: 'gs://b' } },
      {},
      {},
      'spec.standby',
      /s3_wal_path or gs_wal_path, not both/,
    ],
    ['a standby without a source', { standby: { standby_port: '5432' } }, {}, {}, 'spec.standby', /needs a source/],
    ['a negative number of instances', { numberOfInstances: -1 }, {}, {}, 'spec.numberOfInstances', /at least 0/],
    [
      'a bad maintenance window',
      { maintenanceWindows: ['Sunday:00:00-00:00'] },
      {},
      {},
      'spec.maintenanceWindows[0]',
      /"Sunday:00:00-00:00" is not valid/,
    ],
    ['a bad backup schedule', { logicalBackupSchedule: 'every day' }, {}, {}, 'spec.logicalBackupSchedule', /five-field cron schedule/],
    [
      'a resource that is not a quantity',
      { resources: { requests: { cpu: 'lots' } } },
      {},
      {},
      'spec.resources.requests.cpu',
      /"lots" is not a Kubernetes quantity/,
    ],
    ['a team ID that cannot be a label', { teamId: 'team acid' }, { name: 'acid-test' }, {}, 'spec.teamId', /cannot be a label value/],
    [
      'a pooler name that is too long',
      { enableReplicaConnectionPooler: true },
      { name: `acid-${'x'.repeat(50)}` },
      {},
      'metadata.name',
      /replica pooler Service would be named/,
    ],
    [
      'a prepared database name that makes an invalid Secret name',
      { preparedDatabases: { Shop: { defaultUsers: true } } },
      {},
      {},
      'secret Shop-owner-user.acid-test.credentials.postgresql.acid.zalan.do',
      /Kubernetes does not accept/,
    ],
    [
      'a cross-namespace role in an invalid namespace',
      { users: { 'app_ns.user': [] } },
      {},
      { enableCrossNamespaceSecret: true },
      'spec.users.app_ns.user',
      /not a valid namespace name/,
    ],
    [
      'a broken pod service account definition',
      {},
      {},
      { podServiceAccountDefinition: '{"kind": "Pod"}' },
      'configuration pod_service_account_definition',
      /describes a Pod, not a ServiceAccount/,
    ],
  ];
  for (const [about, spec, metadata, cfg, path, message] of errors) {
    it(`rejects ${about}`, () => {
      const found = problems(cluster(spec, metadata), config(cfg));
      const here = only('error', at(found, path));
      expect(here, JSON.stringify(found)).to.have.length.greaterThan(0);
      expect(here[0]?.message).to.match(message);
      expect(isBuildable(found)).to.equal(false);
    });
  }

  const warnings: [string, Partial<PostgresSpec>, Partial<OperatorConfig>, string, RegExp][] = [
    [
      'an env variable set twice (the first is kept, as upstream)',
      {
        env: [
          { name: 'A', value: '1' },
          { name: 'a', value: '2' },
        ],
      },
      {},
      'spec.env[1].name',
      /"a" is set twice in spec.env; the first \(spec.env\[0\]\) is used/,
    ],
    [
      'a protected role name',
      { users: { admin: ['superuser'] } },
      {},
      'spec.users.admin',
      /"admin" is ignored because it is a protected role name/,
    ],
    [
      'a role named like the superuser',
      { users: { postgres: [] } },
      {},
      'spec.users.postgres',
      /the operator uses this name for its own role/,
    ],
    [
      'more pods than max_instances (clamped)',
      { numberOfInstances: 5 },
      { maxInstances: 3 },
      'spec.numberOfInstances',
      /runs 3 pod\(s\) instead of 5/,
    ],
    [
      'fewer pods than min_instances (clamped)',
      { numberOfInstances: 1 },
      { minInstances: 2 },
      'spec.numberOfInstances',
      /runs 2 pod\(s\) instead of 1/,
    ],
    [
      'a standby with several pods',
      { numberOfInstances: 2, standby: { standby_host: 'h' } },
      {},
      'spec.numberOfInstances',
      /standby cluster is meant to run one pod/,
    ],
    [
      'a database owned by an unknown role',
      { databases: { app: 'nobody' } },
      {},
      'spec.databases.app',
      /owner "nobody" is not a role of this cluster/,
    ],
    [
      'a pooler user that is the superuser',
      { connectionPooler: { user: 'postgres' } },
      {},
      'spec.connectionPooler.user',
      /cannot log in as "postgres".*uses "pooler"/,
    ],
    [
      'a secretNamespace without cross-namespace secrets',
      { preparedDatabases: { shop: { secretNamespace: 'x' } } },
      {},
      'spec.preparedDatabases.shop.secretNamespace',
      /stay in the cluster's namespace/,
    ],
  ];
  for (const [about, spec, cfg, path, message] of warnings) {
    it(`warns about ${about}`, () => {
      const found = problems(cluster(spec), config(cfg));
      const here = at(found, path);
      expect(here, JSON.stringify(found)).to.have.length(1);
      expect(here[0]).to.include({ severity: 'warning' });
      expect(here[0]?.message).to.match(message);
      expect(isBuildable(found)).to.equal(true);
    });
  }

  it('keeps the requested pods when the CR carries the ignore-limits annotation', () => {
    const c = cluster({ numberOfInstances: 5 }, { annotations: { 'ignore-limits': 'true' } });
    expect(problems(c, config({ maxInstances: 3, ignoreInstanceLimitsAnnotationKey: 'ignore-limits' }))).to.deep.equal([]);
  });

  it('writes every message as a sentence', () => {
    const found = problems(cluster({ users: { 'Bad!': [], admin: [] }, postgresql: { version: '9' }, maintenanceWindows: ['x'] }));
    for (const e of found) expect(e.message).to.match(/^[A-Z"].*\.$/);
  });
});

describe('maintenanceWindowProblem', () => {
  // Upstream's maintenance window parsing tests (pkg/apis/acid.zalan.do/v1/util_test.go).
  for (const ok of ['Tue:10:00-20:00', '05:00-07:00', 'Mon:10:00-10:00', 'Sun:00:00-00:00', '01:00-10:00', ' 1:00-9:30 ']) {
    it(`accepts "${ok}"`, () => expect(maintenanceWindowProblem(ok)).to.equal(undefined));
  }
  const bad = [
    'Mon:12:00-11:00',
    'Mon:10:00-00:00',
    'Wed:33:00-00:00',
    'Wed:00:00-26:00',
    'Sunday:00:00-00:00',
    ':00:00-10:00',
    'Mon:00:00:00-10:00:00',
    'Mon:00:00-00:00:00',
    'Mon:00:00-Fri:00:00',
    'Mon:00:00',
    '10:5-11:00',
  ];
  for (const text of bad) {
    it(`rejects "${text}"`, () => expect(maintenanceWindowProblem(text)).to.be.a('string'));
  }
});

describe('extractClusterName', () => {
  // Upstream's clusterNames table (pkg/apis/acid.zalan.do/v1/util_test.go).
  const ok: [string, string, string][] = [
    ['acid-test', 'acid', 'test'],
    ['test-my-name', 'test', 'my-name'],
    ['my-team-another-test', 'my-team', 'another-test'],
  ];
  for (const [name, team, rest] of ok) {
    it(`takes "${rest}" from "${name}" for team "${team}"`, () =>
      expect(extractClusterName(name, team)).to.deep.equal({ ok: true, name: rest }));
  }
  const bad: [string, string, RegExp][] = [
    ['------strange-team-cluster', '-----', /not a DNS-1035 label/],
    [`fooobar-${'fooobar'.repeat(8)}`, 'fooobar', /longer than 58 characters/],
    ['acid-test', 'test', /does not start with the team "test"/],
    ['-test', '', /spec.teamId is empty/],
    ['-test', '-', /does not start with the team/],
    ['', '-', /too short/],
    ['-', '-', /too short/],
    ['foo-bar', 'qwerty', /too short/],
  ];
  for (const [name, team, reason] of bad) {
    it(`rejects "${name}" for team "${team}"`, () => {
      const result = extractClusterName(name, team);
      expect(result.ok).to.equal(false);
      if (!result.ok) expect(result.reason).to.match(reason);
    });
  }
});
