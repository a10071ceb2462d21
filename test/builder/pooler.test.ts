import type { V1Container, V1EnvVar } from '@kubernetes/client-node';
import type { OperatorConfig, PostgresSpec } from '@pgfn/api';
import {
  buildPoolerAuthSecret,
  buildPoolerDeployment,
  buildPoolerService,
  DNS_NAME_ANNOTATION,
  needMasterPooler,
  needReplicaPooler,
  poolerSizes,
  type PostgresRole,
} from '@pgfn/builder';
import { expect } from 'chai';
import { cluster, config, decode } from './support.js';

const ROLES: PostgresRole[] = ['master', 'replica'];
const poolerConfig = (o: Partial<OperatorConfig> = {}) =>
  config({
    connectionPoolerDefaultCpuRequest: '100m',
    connectionPoolerDefaultCpuLimit: '100m',
    connectionPoolerDefaultMemoryRequest: '100Mi',
    connectionPoolerDefaultMemoryLimit: '100Mi',
    ...o,
  });
const both = (spec: Partial<PostgresSpec> = {}, meta = {}) =>
  cluster({ connectionPooler: {}, enableReplicaConnectionPooler: true, ...spec }, meta);
const container = (role: PostgresRole, spec: Partial<PostgresSpec> = {}, cfg = poolerConfig()): V1Container =>
  buildPoolerDeployment(both(spec), cfg, role)?.spec?.template.spec?.containers[0] as V1Container;
const env = (c: V1Container, name: string): V1EnvVar | undefined => c.env?.find((e) => e.name === name);

describe('needMasterPooler and needReplicaPooler', () => {
  // Upstream TestNeedConnectionPooler.
  const cases: [string, Partial<PostgresSpec>, boolean, boolean][] = [
    ['a connectionPooler section alone', { connectionPooler: {} }, true, false],
    ['enableConnectionPooler alone', { enableConnectionPooler: true }, true, false],
    ['enableConnectionPooler false with a section', { enableConnectionPooler: false, connectionPooler: {} }, false, false],
    ['enableConnectionPooler true with a section', { enableConnectionPooler: true, connectionPooler: {} }, true, false],
    ['both flags false', { enableConnectionPooler: false, enableReplicaConnectionPooler: false }, false, false],
    ['enableReplicaConnectionPooler alone', { enableReplicaConnectionPooler: true }, false, true],
    ['enableReplicaConnectionPooler false with a section', { enableReplicaConnectionPooler: false, connectionPooler: {} }, true, false],
    ['enableReplicaConnectionPooler true with a section', { enableReplicaConnectionPooler: true, connectionPooler: {} }, true, true],
  ];
  for (const [about, spec, master, replica] of cases) {
    it(`${about}: master ${master}, replica ${replica}`, () => {
      const s = cluster(spec).spec;
      expect([needMasterPooler(s), needReplicaPooler(s)]).to.deep.equal([master, replica]);
    });
  }
});

describe('poolerSizes', () => {
  const cases: [string, Partial<PostgresSpec>, Partial<OperatorConfig>, number[]][] = [
    ['defaults: 60 connections over 2 pods', {}, {}, [2, 30, 15, 7, 7]],
    ['manifest instances and budget', { connectionPooler: { numberOfInstances: 3, maxDBConnections: 100 } }, {}, [3, 33, 16, 8, 8]],
    ['config instances and budget', {}, { connectionPoolerNumberOfInstances: 1, connectionPoolerMaxDbConnections: 10 }, [1, 10, 5, 2, 2]],
    ['the constant 60 when the config has no budget', {}, { connectionPoolerMaxDbConnections: 0 }, [2, 30, 15, 7, 7]],
    ['at least one pod', { connectionPooler: { numberOfInstances: 0 } }, {}, [1, 60, 30, 15, 15]],
  ];
  for (const [about, spec, cfg, [instances, maxDb, def, min, reserve]] of cases) {
    it(about, () => {
      expect(poolerSizes(cluster(spec).spec, config(cfg))).to.deep.equal({
        instances,
        maxDbConnections: maxDb,
        defaultSize: def,
        minSize: min,
        reserveSize: reserve,
      });
    });
  }
});

describe('buildPoolerDeployment', () => {
  // Upstream TestConnectionPoolerPodSpec and TestConnectionPoolerDeploymentSpec.
  for (const role of ROLES) {
    it(`runs the ${role} pooler as the pod service account`, () => {
      expect(buildPoolerDeployment(both(), poolerConfig(), role)?.spec?.template.spec?.serviceAccountName).to.equal('postgres-pod');
    });
    it(`gives the ${role} pooler the configured default resources`, () => {
      expect(container(role).resources).to.deep.equal({
        requests: { cpu: '100m', memory: '100Mi' },
        limits: { cpu: '100m', memory: '100Mi' },
      });
    });
    it(`labels the ${role} pooler pods with its name and role`, () => {
      const labels = buildPoolerDeployment(both(), poolerConfig(), role)?.spec?.template.metadata?.labels;
      const name = role === 'master' ? 'acid-test-pooler' : 'acid-test-pooler-repl';
      expect(labels).to.deep.equal({
        application: 'db-connection-pooler',
        'cluster-name': 'acid-test',
        team: 'acid',
        'connection-pooler': name,
        'spilo-role': role,
      });
    });
    it(`sets the environment the ${role} pooler needs`, () => {
      const c = container(role);
      for (const name of ['PGHOST', 'PGPORT', 'PGUSER', 'PGSCHEMA', 'PGPASSWORD', 'CONNECTION_POOLER_MODE', 'CONNECTION_POOLER_PORT'])
        expect(env(c, name), name).to.not.equal(undefined);
      expect(env(c, 'PGHOST')?.value).to.equal(role === 'master' ? 'acid-test' : 'acid-test-repl');
      expect(env(c, 'PGPASSWORD')?.valueFrom?.secretKeyRef).to.deep.equal({
        name: 'pooler.acid-test.credentials.postgresql.acid.zalan.do',
        key: 'password',
      });
    });
  }
  it("uses upstream's shipped defaults when the config has no pooler resources", () => {
    expect(container('master', {}, config()).resources).to.deep.equal({
      requests: { cpu: '500m', memory: '100Mi' },
      limits: { cpu: '1', memory: '100Mi' },
    });
  });
  it('lets the manifest override image, mode, schema, user and resources', () => {
    const c = container('master', {
      connectionPooler: {
        dockerImage: 'my/bouncer:1',
        mode: 'session',
        schema: 'pgb',
        user: 'bouncer',
        resources: { requests: { cpu: '1' } },
      },
    });
    expect(c.image).to.equal('my/bouncer:1');
    expect([env(c, 'CONNECTION_POOLER_MODE')?.value, env(c, 'PGSCHEMA')?.value]).to.deep.equal(['session', 'pgb']);
    expect(env(c, 'PGUSER')?.valueFrom?.secretKeyRef?.name).to.equal('bouncer.acid-test.credentials.postgresql.acid.zalan.do');
    expect(c.resources?.requests?.['cpu']).to.equal('1');
  });
  it('selects its pods by pooler name, without team and role', () => {
    expect(buildPoolerDeployment(both(), poolerConfig(), 'master')?.spec?.selector).to.deep.equal({
      matchLabels: { application: 'db-connection-pooler', 'cluster-name': 'acid-test', 'connection-pooler': 'acid-test-pooler' },
    });
  });
  it('is owned by the postgresql object when owner references are enabled', () => {
    const d = buildPoolerDeployment(both({}, { uid: 'u-9' }), poolerConfig({ enableOwnerReferences: true }), 'master');
    expect(d?.metadata?.ownerReferences?.[0]).to.include({ kind: 'postgresql', name: 'acid-test', uid: 'u-9' });
  });
  it("mounts the userlist and runs as PgBouncer's user", () => {
    const pod = buildPoolerDeployment(both(), poolerConfig({ spiloFsgroup: 103 }), 'replica')?.spec?.template.spec;
    expect(pod?.securityContext).to.deep.equal({ runAsUser: 100, runAsGroup: 101, fsGroup: 103 });
    expect(pod?.volumes?.[0]).to.deep.equal({ name: 'acid-test-pooler-repl-u', secret: { secretName: 'acid-test-pooler-repl-u' } });
    expect(pod?.containers[0]?.volumeMounts?.[0]).to.deep.equal({
      name: 'acid-test-pooler-repl-u',
      mountPath: '/etc/pgbouncer/userlist.txt',
      subPath: 'userlist.txt',
      readOnly: true,
    });
  });
  it('mounts the cluster TLS Secret and points PgBouncer at it (upstream TestPoolerTLS)', () => {
    const spec = { enableConnectionPooler: true, spiloFSGroup: 103, tls: { secretName: 'my-secret', caFile: 'ca.crt' } };
    const pod = buildPoolerDeployment(cluster(spec), poolerConfig(), 'master')?.spec?.template.spec;
    expect(pod?.securityContext?.fsGroup).to.equal(103);
    expect(pod?.volumes).to.deep.include({ name: 'my-secret', secret: { secretName: 'my-secret', defaultMode: 0o640 } });
    const c = pod?.containers[0] as V1Container;
    expect(c.volumeMounts).to.deep.include({ name: 'my-secret', mountPath: '/tls' });
    expect(c.env).to.deep.include.members([
      { name: 'CONNECTION_POOLER_CLIENT_TLS_CRT', value: '/tls/tls.crt' },
      { name: 'CONNECTION_POOLER_CLIENT_TLS_KEY', value: '/tls/tls.key' },
      { name: 'CONNECTION_POOLER_CLIENT_CA_FILE', value: '/tls/ca.crt' },
    ]);
  });
  it("is undefined when the role's pooler is not wanted", () => {
    expect(buildPoolerDeployment(cluster({ connectionPooler: {} }), poolerConfig(), 'replica')).to.equal(undefined);
    expect(buildPoolerDeployment(cluster(), poolerConfig(), 'master')).to.equal(undefined);
  });
});

describe('buildPoolerService', () => {
  // Upstream TestConnectionPoolerServiceSpec and TestConnectionPoolerServiceType.
  for (const role of ROLES) {
    it(`selects the ${role} pooler pods and is owned by the postgresql object`, () => {
      const svc = buildPoolerService(both({}, { uid: 'u-1' }), poolerConfig({ enableOwnerReferences: true }), role);
      const name = role === 'master' ? 'acid-test-pooler' : 'acid-test-pooler-repl';
      expect(svc?.spec?.selector).to.deep.equal({ 'connection-pooler': name });
      expect(svc?.metadata?.ownerReferences?.[0]?.name).to.equal('acid-test');
    });
  }
  const types: [string, Partial<PostgresSpec>, string, string][] = [
    ['default configuration', {}, 'ClusterIP', 'ClusterIP'],
    [
      'load balancers for both roles',
      { enableMasterPoolerLoadBalancer: true, enableReplicaPoolerLoadBalancer: true },
      'LoadBalancer',
      'LoadBalancer',
    ],
    ['a load balancer for the master', { enableMasterPoolerLoadBalancer: true }, 'LoadBalancer', 'ClusterIP'],
    ['a load balancer for replicas', { enableReplicaPoolerLoadBalancer: true }, 'ClusterIP', 'LoadBalancer'],
    ['node ports for both roles', { enableMasterPoolerNodePort: true, enableReplicaPoolerNodePort: true }, 'NodePort', 'NodePort'],
    ['a node port for the master', { enableMasterPoolerNodePort: true }, 'NodePort', 'ClusterIP'],
    ['a node port for replicas', { enableReplicaPoolerNodePort: true }, 'ClusterIP', 'NodePort'],
    [
      'node ports over load balancers',
      {
        enableMasterPoolerNodePort: true,
        enableReplicaPoolerNodePort: true,
        enableMasterPoolerLoadBalancer: true,
        enableReplicaPoolerLoadBalancer: true,
      },
      'NodePort',
      'NodePort',
    ],
  ];
  for (const [about, spec, master, replica] of types) {
    it(`uses ${master}/${replica} for ${about}`, () => {
      const c = both(spec);
      expect(ROLES.map((r) => buildPoolerService(c, poolerConfig(), r)?.spec?.type)).to.deep.equal([master, replica]);
    });
  }
  it('names the load balancers after the pooler in DNS', () => {
    const c = both({ enableMasterPoolerLoadBalancer: true, enableReplicaPoolerLoadBalancer: true });
    expect(ROLES.map((r) => buildPoolerService(c, poolerConfig(), r)?.metadata?.annotations?.[DNS_NAME_ANNOTATION])).to.deep.equal([
      'acid-test-pooler.test.db.example.com',
      'acid-test-pooler-repl.test.db.example.com',
    ]);
  });
});

describe('buildPoolerAuthSecret', () => {
  it("holds PgBouncer's userlist with the pooler role and password", () => {
    const secret = buildPoolerAuthSecret(both(), poolerConfig(), 'replica', { username: 'pooler', password: 's3cret' });
    expect(secret?.metadata?.name).to.equal('acid-test-pooler-repl-u');
    expect(decode(secret, 'userlist.txt')).to.equal('"pooler" "s3cret"\n');
    expect(secret?.metadata?.labels?.['spilo-role']).to.equal('replica');
  });
});
