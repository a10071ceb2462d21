import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type Postgresql, type PostgresSpec } from '@pgfn/api';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { example, onKwok, requestEvent, resourceEvent, startReconcile, type RunningReconcile } from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const long = (c: string): string => c.repeat(64);

/** Schema-valid manifests (the apiserver stores them) that no Postgres cluster can be built from. */
const CASES: [string, (spec: PostgresSpec) => PostgresSpec, RegExp][] = [
  ['login-nologin', (s) => ({ ...s, users: { ...s.users, u1: ['login', 'nologin'] } }), /LOGIN and NOLOGIN/],
  ['superuser-nosuperuser', (s) => ({ ...s, users: { ...s.users, u1: ['superuser', 'nosuperuser'] } }), /SUPERUSER and NOSUPERUSER/],
  ['createdb-nocreatedb', (s) => ({ ...s, users: { ...s.users, u1: ['createdb', 'nocreatedb'] } }), /CREATEDB and NOCREATEDB/],
  ['sql-in-role-name', (s) => ({ ...s, users: { ...s.users, "bob'); drop role x; --": [] } }), /role name .* is not valid/],
  ['upper-case-role', (s) => ({ ...s, users: { ...s.users, Bob: [] } }), /role name "Bob" is not valid/],
  ['role-with-space', (s) => ({ ...s, users: { ...s.users, 'my user': [] } }), /role name "my user" is not valid/],
  ['role-leading-dash', (s) => ({ ...s, users: { ...s.users, '-bob': [] } }), /role name "-bob" is not valid/],
  ['unicode-role', (s) => ({ ...s, users: { ...s.users, ünïcode: [] } }), /is not valid/],
  ['role-64-bytes', (s) => ({ ...s, users: { ...s.users, [long('u')]: [] } }), /longer than 63 bytes/],
  [
    'database-with-semicolon',
    (s) => ({ ...s, databases: { ...s.databases, 'db;drop': 'app_owner' } }),
    /database name "db;drop" is not valid/,
  ],
  ['database-64-bytes', (s) => ({ ...s, databases: { ...s.databases, [long('d')]: 'app_owner' } }), /at most 63 bytes/],
  ['database-owner-quote', (s) => ({ ...s, databases: { ...s.databases, db2: 'own"er' } }), /not a valid role name/],
  ['database-owner-upper', (s) => ({ ...s, databases: { ...s.databases, db3: 'Owner' } }), /not a valid role name/],
  ['prepared-db-space', (s) => ({ ...s, preparedDatabases: { 'bad db': {} } }), /prepared database name "bad db"/],
  ['prepared-db-digit', (s) => ({ ...s, preparedDatabases: { '1db': {} } }), /prepared database name "1db"/],
  ['prepared-db-too-long', (s) => ({ ...s, preparedDatabases: { [long('p').slice(0, 60)]: {} } }), /must fit in 63 bytes/],
  ['prepared-schema-space', (s) => ({ ...s, preparedDatabases: { app: { schemas: { 'bad schema': {} } } } }), /schema name "bad schema"/],
  ['sidecar-without-image', (s) => ({ ...s, sidecars: [{ name: 'exporter' }] }), /container 'exporter': image is required/],
  [
    'init-container-without-image',
    (s) => ({ ...s, initContainers: [{ name: 'setup' }] }),
    /invalid init containers: container 'setup': image is required/,
  ],
  ['sidecar-named-postgres', (s) => ({ ...s, sidecars: [{ name: 'postgres', image: 'busybox' }] }), /used twice/],
  [
    'init-container-named-like-sidecar',
    (s) => ({ ...s, sidecars: [{ name: 'tool', image: 'busybox' }], initContainers: [{ name: 'tool', image: 'busybox' }] }),
    /"tool" is used twice/,
  ],
  ['name-too-long', (s) => s, /at most 58 are allowed/],
];

describe('reconcile: schema-valid but semantically invalid manifests', function () {
  this.timeout(180_000);
  let kc: k8s.KubeConfig;
  let custom: k8s.CustomObjectsApi;
  let ns: { name: string; cleanup: () => Promise<void> };
  let fn: RunningReconcile;

  before(async () => {
    kc = adminConfig();
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'reconcile-invalid');
    fn = await startReconcile(kc, ns.name);
  });
  after(async () => {
    await fn.stop();
    await ns.cleanup();
  });

  const read = async (name: string): Promise<Cluster> =>
    (await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name })) as Cluster;

  it(`reports each of ${CASES.length} problems on the status and as a Warning Event, and builds nothing`, async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const good = (await custom.createNamespacedCustomObject({
      ...PG,
      namespace: ns.name,
      body: onKwok(example('minimal.yaml', ns.name, 'acid-good')),
    })) as Cluster;
    expect((await fn.post(resourceEvent('add', good))).status).to.equal(200);
    const goodSecretsBefore = (await core.listNamespacedSecret({ namespace: ns.name, labelSelector: 'cluster-name=acid-good' })).items
      .map((s) => s.metadata?.uid)
      .sort();

    for (const [id, edit, message] of CASES) {
      const base = onKwok(example('minimal.yaml', ns.name, id === 'name-too-long' ? `acid-${'x'.repeat(58)}` : `acid-${id}`));
      const pg = (await custom.createNamespacedCustomObject({
        ...PG,
        namespace: ns.name,
        body: { ...base, spec: edit(base.spec) },
      })) as Cluster;
      const res = await fn.post(resourceEvent('add', pg));
      expect(res.status, id).to.equal(200);
      const name = pg.metadata?.name ?? '';
      const status = (await read(name)).status;
      expect(status?.PostgresClusterStatus, id).to.equal('Invalid');
      const valid = status?.conditions?.find((c) => c.type === 'Valid');
      expect(valid?.status, id).to.equal('False');
      expect(valid?.message, id).to.match(message);
      const events = (await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: `involvedObject.name=${name}` })).items;
      expect(
        events.some((e) => e.type === 'Warning' && e.reason === 'InvalidSpec' && message.test(e.message ?? '')),
        `${id}: event`,
      ).to.equal(true);
      const made = [
        ...(await apps.listNamespacedStatefulSet({ namespace: ns.name, labelSelector: `cluster-name=${name}` })).items,
        ...(await core.listNamespacedService({ namespace: ns.name, labelSelector: `cluster-name=${name}` })).items,
        ...(await core.listNamespacedSecret({ namespace: ns.name, labelSelector: `cluster-name=${name}` })).items,
      ];
      expect(
        made.map((o) => o.metadata?.name),
        `${id}: nothing built`,
      ).to.deep.equal([]);
    }

    // The valid neighbour is untouched and still converges with zero writes.
    fn.requests.reset();
    expect((await fn.post(requestEvent(ns.name, 'acid-good'))).status).to.equal(200);
    const goodSecretsAfter = (await core.listNamespacedSecret({ namespace: ns.name, labelSelector: 'cluster-name=acid-good' })).items
      .map((s) => s.metadata?.uid)
      .sort();
    expect(goodSecretsAfter).to.deep.equal(goodSecretsBefore);
    expect(await apps.readNamespacedStatefulSet({ namespace: ns.name, name: 'acid-good' })).to.have.nested.property('spec.replicas', 2);
  });

  it('builds a manifest with a duplicate env name, keeping the first, and tells it once (status, SpecWarning Event)', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const base = onKwok(example('minimal.yaml', ns.name, 'acid-env-twice'));
    const env = [
      { name: 'MY_SETTING', value: 'first' },
      { name: 'MY_SETTING', value: 'second' },
    ];
    const pg = (await custom.createNamespacedCustomObject({
      ...PG,
      namespace: ns.name,
      body: { ...base, spec: { ...base.spec, env } },
    })) as Cluster;
    expect((await fn.post(resourceEvent('add', pg))).status).to.equal(200);
    const sts = await apps.readNamespacedStatefulSet({ namespace: ns.name, name: 'acid-env-twice' });
    const postgres = sts.spec?.template.spec?.containers.find((c) => c.name === 'postgres');
    expect(postgres?.env?.filter((e) => e.name === 'MY_SETTING')).to.deep.equal([{ name: 'MY_SETTING', value: 'first' }]);
    const valid = (await read('acid-env-twice')).status?.conditions?.find((c) => c.type === 'Valid');
    expect(valid?.status).to.equal('True');
    expect(valid?.message).to.match(/with warnings: spec\.env\[1\]\.name: The environment variable "MY_SETTING" is set twice/);
    const warnings = async (): Promise<number> =>
      (await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: 'involvedObject.name=acid-env-twice' })).items.filter(
        (e) => e.type === 'Warning' && e.reason === 'SpecWarning' && /set twice/.test(e.message ?? ''),
      ).length;
    expect(await warnings()).to.equal(1);
    fn.requests.reset();
    expect((await fn.post(requestEvent(ns.name, 'acid-env-twice'))).status).to.equal(200);
    expect(await warnings(), 'no second Event for the same warning').to.equal(1);
    expect(fn.requests.writes(), JSON.stringify([...fn.requests.counts])).to.equal(0);
  });

  it('rejects a cluster name without the team prefix when the configuration requires it', async () => {
    const strict = await startReconcile(kc, ns.name, { ...DEFAULT_OPERATOR_CONFIG, enableTeamIdClusternamePrefix: true });
    try {
      const pg = (await custom.createNamespacedCustomObject({
        ...PG,
        namespace: ns.name,
        body: onKwok(example('minimal.yaml', ns.name, 'other-team-db')),
      })) as Cluster;
      await strict.post(resourceEvent('add', pg));
      const valid = (await read('other-team-db')).status?.conditions?.find((c) => c.type === 'Valid');
      expect(valid?.status).to.equal('False');
      expect(valid?.message).to.match(/must start with the team ID/);
    } finally {
      await strict.stop();
    }
  });

  it('re-validates an invalid cluster once it is fixed', async () => {
    const cur = await read('acid-login-nologin');
    const { u1: _bad, ...users } = cur.spec.users ?? {};
    const fixed = (await custom.replaceNamespacedCustomObject({
      ...PG,
      namespace: ns.name,
      name: 'acid-login-nologin',
      body: { ...cur, spec: { ...cur.spec, users } },
    })) as Cluster;
    await fn.post(resourceEvent('update', fixed));
    const status = (await read('acid-login-nologin')).status;
    expect(status?.PostgresClusterStatus).to.be.oneOf(['Creating', 'Running']);
    expect(status?.conditions?.find((c) => c.type === 'Valid')?.status).to.equal('True');
  });
});
