import type { V1Endpoints, V1PersistentVolume, V1PersistentVolumeClaim, V1Pod, V1Service } from '@kubernetes/client-node';
import {
  buildPodStatus,
  ContainerConfigError,
  copyScripts,
  hostsFile,
  initScript,
  IpPool,
  parseServiceHost,
  persistentVolumeFor,
  pgbouncerFiles,
  podPhase,
  serviceBackends,
  resizeNeed,
  shouldProvision,
  storageClass,
} from '@pgfn/node-agent';
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('IpPool', () => {
  it('keeps the first address for the node and hands out the rest, one per key', () => {
    const pool = new IpPool('127.0.10.0/24');
    expect(pool.nodeIP).to.equal('127.0.10.1');
    expect(pool.allocate('a')).to.equal('127.0.10.2');
    expect(pool.allocate('b')).to.equal('127.0.10.3');
    expect(pool.allocate('a')).to.equal('127.0.10.2');
  });

  it('reuses released addresses last', () => {
    const pool = new IpPool('127.0.10.0/29');
    const first = pool.allocate('a');
    pool.release('a');
    const next = ['b', 'c', 'd', 'e'].map((k) => pool.allocate(k));
    expect(next).to.deep.equal(['127.0.10.3', '127.0.10.4', '127.0.10.5', '127.0.10.6']);
    expect(pool.allocate('f')).to.equal(first);
    expect(() => pool.allocate('g')).to.throw('no free pod address left in ipRange');
  });

  it('gives a pod its previous address back when it is free', () => {
    const pool = new IpPool('127.0.10.0/24');
    expect(pool.allocate('a', '127.0.10.40')).to.equal('127.0.10.40');
  });

  // Test traffic may only go to loopback addresses, so anything outside 127.0.0.0/8 is refused.
  const bad: [string, string][] = [
    [
      '192.168.10.0/24',
      'ipRange 192.168.10.0/24 is outside 127.0.0.0/8: pods must get loopback addresses; use a range such as 127.0.10.0/24',
    ],
    [
      '169.254.3.0/24',
      'ipRange 169.254.3.0/24 is outside 127.0.0.0/8: pods must get loopback addresses; use a range such as 127.0.10.0/24',
    ],
    [
      '127.0.0.0/24',
      'ipRange 127.0.0.0/24 contains 127.0.0.1 (localhost, used by other services on this host); use a range such as 127.0.10.0/24',
    ],
    ['127.0.10.0/30', 'ipRange 127.0.10.0/30: the prefix must be between /8 and /29'],
    ['127.0.10.0', 'ipRange "127.0.10.0" is not a CIDR like 127.0.10.0/24'],
  ];
  for (const [cidr, message] of bad) it(`rejects ${cidr}`, () => expect(() => new IpPool(cidr)).to.throw(message));
});

describe('parseServiceHost', () => {
  const cases: [string, ReturnType<typeof parseServiceHost>][] = [
    ['acid-ha', { service: 'acid-ha', namespace: 'team' }],
    ['acid-ha.ns1', { service: 'acid-ha', namespace: 'ns1' }],
    ['acid-ha.ns1.svc', { service: 'acid-ha', namespace: 'ns1' }],
    ['acid-ha.ns1.svc.cluster.local', { service: 'acid-ha', namespace: 'ns1' }],
    ['acid-ha.ns1.svc.cluster.local.', { service: 'acid-ha', namespace: 'ns1' }],
    ['acid-ha.ns1.svc.other.domain', undefined],
    ['example.com.au', undefined],
    ['127.0.10.4', undefined],
    ['localhost', undefined],
  ];
  for (const [host, expected] of cases) it(`reads "${host}"`, () => expect(parseServiceHost(host, 'team')).to.deep.equal(expected));
});

describe('serviceBackends', () => {
  // The API server refuses loopback pod addresses in EndpointSlices and Endpoints, so the resolver
  // selects a Service's pods itself, the way the endpoint controller would.
  const pod = (
    name: string,
    ip: string,
    labels: Record<string, string>,
    extra: { ready?: boolean; deleting?: boolean; phase?: string } = {},
  ): V1Pod => ({
    metadata: { name, labels, ...(extra.deleting === true ? { deletionTimestamp: new Date() } : {}) },
    spec: {
      containers: [
        {
          name: 'postgres',
          ports: [
            { name: 'postgresql', containerPort: 5433 },
            { name: 'patroni', containerPort: 8008 },
          ],
        },
      ],
    },
    status: {
      phase: extra.phase ?? 'Running',
      podIP: ip,
      conditions: [{ type: 'Ready', status: extra.ready === false ? 'False' : 'True' }],
    },
  });
  const service = (
    selector: Record<string, string> | undefined,
    targetPort?: number | string,
    publishNotReadyAddresses?: boolean,
  ): V1Service => ({
    metadata: { name: 'acid-ha' },
    spec: {
      ...(selector === undefined ? {} : { selector }),
      ports: [{ name: 'postgresql', port: 5432, ...(targetPort === undefined ? {} : { targetPort: targetPort }) }],
      publishNotReadyAddresses,
    },
  });
  const master = { 'cluster-name': 'acid-ha', 'spilo-role': 'master' };
  const replica = { 'cluster-name': 'acid-ha', 'spilo-role': 'replica' };
  const pods = [
    pod('acid-ha-1', '127.0.10.10', replica),
    pod('acid-ha-0', '127.0.10.9', master),
    pod('acid-ha-2', '127.0.10.11', replica, { ready: false }),
    pod('acid-ha-3', '127.0.10.12', master, { deleting: true }),
    pod('acid-ha-4', '127.0.10.13', replica, { phase: 'Failed' }),
    pod('other-0', '127.0.10.14', {}),
  ];
  const flat = (s: V1Service, e?: V1Endpoints): string[] => serviceBackends(s, pods, e).map((b) => `${b.ip}:${b.ports.get(5432) ?? '-'}`);
  const cases: { what: string; service: V1Service; expected: string[] }[] = [
    {
      what: 'the ready, not terminating master for a role selector, targetPort a number',
      service: service(master, 5432),
      expected: ['127.0.10.9:5432'],
    },
    {
      what: 'ready replicas only, in address order, targetPort a container port name',
      service: service(replica, 'postgresql'),
      expected: ['127.0.10.10:5433'],
    },
    { what: 'the Service port itself without a targetPort', service: service(master), expected: ['127.0.10.9:5432'] },
    {
      what: 'not-ready and terminating pods too with publishNotReadyAddresses',
      service: service(master, 5432, true),
      expected: ['127.0.10.9:5432', '127.0.10.12:5432'],
    },
    { what: 'no port for a pod without the named container port', service: service(master, 'missing'), expected: ['127.0.10.9:-'] },
  ];
  for (const { what, service: s, expected } of cases) it(`selects ${what}`, () => expect(flat(s)).to.deep.equal(expected));

  it('reads the ready addresses of the Endpoints object for a Service without a selector', () => {
    // Data only (a documentation address, never connected to): on the agent such Endpoints stay empty.
    const endpoints: V1Endpoints = {
      subsets: [
        { addresses: [{ ip: '192.0.2.7' }], notReadyAddresses: [{ ip: '192.0.2.8' }], ports: [{ name: 'postgresql', port: 5432 }] },
      ],
    };
    expect(flat(service(undefined), endpoints)).to.deep.equal(['192.0.2.7:5432']);
    expect(flat(service(undefined))).to.deep.equal([]);
  });
});

describe('pgbouncerFiles', () => {
  const env = {
    PGHOST: 'acid-ha',
    PGPORT: '5432',
    PGUSER: 'pooler',
    PGPASSWORD: 'pw"1',
    PGSCHEMA: 'pooler',
    CONNECTION_POOLER_PORT: '5432',
    CONNECTION_POOLER_MODE: 'session',
    CONNECTION_POOLER_DEFAULT_SIZE: '30',
    CONNECTION_POOLER_MIN_SIZE: '15',
    CONNECTION_POOLER_RESERVE_SIZE: '15',
    CONNECTION_POOLER_MAX_CLIENT_CONN: '10000',
    CONNECTION_POOLER_MAX_DB_CONN: '60',
  };
  const files = pgbouncerFiles(env, {
    podIP: '127.0.10.9',
    upstream: [
      { ip: '127.0.10.2', port: 5432 },
      { ip: '127.0.10.3', port: 5432 },
    ],
    runDir: '/run/pgbouncer',
  });
  const lines: string[] = [
    '* = host=127.0.10.2,127.0.10.3 port=5432 auth_user=pooler',
    'listen_addr = 127.0.10.9',
    'listen_port = 5432',
    'pool_mode = session',
    'auth_query = SELECT * FROM pooler.user_lookup($1)',
    'default_pool_size = 30',
    'min_pool_size = 15',
    'reserve_pool_size = 15',
    'max_client_conn = 10000',
    'max_db_connections = 60',
    'server_tls_sslmode = require',
  ];
  for (const line of lines) it(`writes "${line}"`, () => expect(files.ini.split('\n')).to.include(line));

  it('lets the auth user log in with its own password', () => expect(files.userlist).to.equal('"pooler" "pw""1"\n'));

  it('points at nothing while the Service has no ready endpoint', () => {
    const idle = pgbouncerFiles(env, { podIP: '127.0.10.9', upstream: [], runDir: '/run/pgbouncer' });
    expect(idle.ini).to.contain('* = host=127.0.0.1 port=1 auth_user=pooler');
  });

  it('names a missing variable', () => {
    expect(() => pgbouncerFiles({ ...env, PGUSER: '' }, { podIP: '127.0.10.9', upstream: [], runDir: '/run' })).to.throw(
      ContainerConfigError,
      'environment variable PGUSER is required by the connection pooler',
    );
  });
});

describe('podPhase', () => {
  const c = (hasStarted: boolean, isDone: boolean, exitCode?: number) => ({ hasStarted, isDone, exitCode });
  const cases: [string, ReturnType<typeof c>[], string][] = [
    ['no container started yet', [c(false, false), c(true, false)], 'Pending'],
    ['every container started', [c(true, false), c(true, false)], 'Running'],
    ['all finished with 0', [c(true, true, 0)], 'Succeeded'],
    ['one finished with an error', [c(true, true, 0), c(true, true, 1)], 'Failed'],
  ];
  for (const [scenario, containers, phase] of cases) it(`is ${phase} when ${scenario}`, () => expect(podPhase(containers)).to.equal(phase));
});

describe('buildPodStatus', () => {
  const earlier = new Date('2026-01-01T00:00:00Z');
  const now = new Date('2026-01-01T00:01:00Z');
  const pod: V1Pod = {
    metadata: { name: 'p' },
    status: {
      qosClass: 'Burstable',
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: earlier },
        { type: 'Ready', status: 'False', lastTransitionTime: earlier },
        { type: 'Initialized', status: 'True', lastTransitionTime: earlier },
      ],
    },
  };
  const status = buildPodStatus({
    pod,
    phase: 'Running',
    podIP: '127.0.10.2',
    hostIP: '127.0.10.1',
    startTime: earlier,
    sandboxReady: true,
    now,
    containers: [{ name: 'postgres', image: 'spilo', imageID: '', ready: true, restartCount: 0 }],
    initContainers: [],
  });
  const cond = (type: string) => status.conditions?.find((x) => x.type === type);

  it('reports the addresses and keeps the scheduler condition and QoS class', () => {
    expect(status).to.deep.include({
      phase: 'Running',
      podIP: '127.0.10.2',
      podIPs: [{ ip: '127.0.10.2' }],
      hostIP: '127.0.10.1',
      qosClass: 'Burstable',
    });
    expect(cond('PodScheduled')?.lastTransitionTime).to.equal(earlier);
  });

  it("moves a condition's transition time only when its status changes", () => {
    expect(cond('Ready')).to.deep.include({ status: 'True', lastTransitionTime: now });
    expect(cond('Initialized')).to.deep.include({ status: 'True', lastTransitionTime: earlier });
  });
});

describe('local volume provisioning', () => {
  const claim = (storageClassName?: string, annotations: Record<string, string> = {}): V1PersistentVolumeClaim => ({
    metadata: { name: 'pgdata-acid-ha-0', namespace: 'team', uid: 'uid-1', annotations },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      ...(storageClassName === undefined ? {} : { storageClassName }),
    },
    status: { phase: 'Pending' },
  });
  const o = { nodeName: 'pgfn-agent-0', storageClassName: 'pgfn-local', dataDir: '/data' };
  const cases: [string, V1PersistentVolumeClaim, boolean, { serveClaimsWithoutClass?: boolean }?][] = [
    ['a claim without a storage class', claim(), true],
    [
      'a claim of our class once the scheduler picked this node',
      claim('pgfn-local', { 'volume.kubernetes.io/selected-node': 'pgfn-agent-0' }),
      true,
    ],
    ['a claim of our class before the scheduler picked a node', claim('pgfn-local'), false],
    ['a claim of our class for another node', claim('pgfn-local', { 'volume.kubernetes.io/selected-node': 'kwok-node-0' }), false],
    ['a claim of another class', claim('gp3'), false],
    [
      'a claim of the shared class once the scheduler picked this node',
      claim('pgfn-shared', { 'volume.kubernetes.io/selected-node': 'pgfn-agent-0' }),
      true,
    ],
    ['a claim of the shared class for another node', claim('pgfn-shared', { 'volume.kubernetes.io/selected-node': 'pgfn-agent-1' }), false],
    ['a claim without a class on a node that leaves those to another', claim(), false, { serveClaimsWithoutClass: false }],
    ['a bound claim', { ...claim(), spec: { ...claim().spec, volumeName: 'pv-1' } }, false],
  ];
  for (const [scenario, pvc, expected, more] of cases)
    it(`${expected ? 'serves' : 'leaves'} ${scenario}`, () => expect(shouldProvision(pvc, { ...o, ...more })).to.equal(expected));

  it('makes a shared-class PV a host path reachable from every local node (no node affinity)', () => {
    const pv = persistentVolumeFor(claim('pgfn-shared', { 'volume.kubernetes.io/selected-node': 'pgfn-agent-0' }), o);
    expect(pv.spec?.hostPath).to.deep.equal({ path: '/data/team/pgdata-acid-ha-0', type: 'Directory' });
    expect(pv.spec).to.not.have.any.keys('local', 'nodeAffinity');
    expect(pv.spec?.storageClassName).to.equal('pgfn-shared');
    expect(pv.metadata?.annotations?.['pgfn.dev/provisioned-on']).to.equal('pgfn-agent-0');
  });

  it('makes a local PV on this node, pre-bound to the claim, in <dataDir>/<namespace>/<claim>', () => {
    const pv = persistentVolumeFor(claim(), o);
    expect(pv.spec?.local?.path).to.equal('/data/team/pgdata-acid-ha-0');
    expect(pv.spec?.claimRef).to.deep.include({ namespace: 'team', name: 'pgdata-acid-ha-0', uid: 'uid-1' });
    expect(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions?.[0]).to.deep.equal({
      key: 'kubernetes.io/hostname',
      operator: 'In',
      values: ['pgfn-agent-0'],
    });
    expect(pv.spec).to.include({ persistentVolumeReclaimPolicy: 'Delete' });
    expect(pv.spec).to.not.have.key('storageClassName');
  });

  it('offers its StorageClass as the default only when asked (npm run local)', () => {
    expect(storageClass('pgfn-local').metadata?.annotations).to.equal(undefined);
    expect(storageClass('pgfn-local', true).metadata?.annotations).to.deep.equal({ 'storageclass.kubernetes.io/is-default-class': 'true' });
  });

  it('offers a WaitForFirstConsumer StorageClass', () => {
    expect(storageClass('pgfn-local')).to.deep.include({
      provisioner: 'pgfn.dev/node-agent',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
    });
  });
});

describe('initScript', () => {
  it('mounts, names the host, then drops to the unprivileged user', () => {
    const script = initScript({
      mounts: [
        { kind: 'tmpfs', target: '/home' },
        { kind: 'bind', source: "/data/it's", target: '/home/postgres/pgdata', readOnly: true },
      ],
      hostname: 'acid-ha-0',
      user: 'postgres:postgres',
      env: {},
      argv: ['/usr/bin/patroni', '/home/postgres/postgres.yml'],
      logFile: '/dev/null',
    }).split('\n');
    expect(script).to.deep.equal([
      'set -e',
      "/usr/bin/mkdir -p '/home'",
      "/usr/bin/mount -t tmpfs -o mode=0755 tmpfs '/home'",
      "/usr/bin/mkdir -p '/home/postgres/pgdata'",
      "/usr/bin/mount --bind '/data/it'\\''s' '/home/postgres/pgdata'",
      "/usr/bin/mount -o remount,bind,ro '/home/postgres/pgdata'",
      "/usr/bin/hostname 'acid-ha-0'",
      "exec /usr/bin/setpriv --reuid='postgres' --regid='postgres' --init-groups -- '/usr/bin/patroni' '/home/postgres/postgres.yml'",
    ]);
  });
});

describe('hostsFile', () => {
  it('names the pod, every Service of its namespace by its short name, and those of other namespaces qualified', () => {
    const services = new Map([
      ['default', new Map([['acid-src', '127.0.10.9']])],
      ['team', new Map([['acid-src', '127.0.10.2']])],
    ]);
    const text = hostsFile({ podIP: '127.0.10.5', podName: 'acid-clone-0', namespace: 'team', services });
    const lines = text.split('\n');
    expect(lines).to.include.members([
      '127.0.10.5\tacid-clone-0',
      '127.0.10.2\tacid-src acid-src.team acid-src.team.svc acid-src.team.svc.cluster.local',
      '127.0.10.9\tacid-src.default acid-src.default.svc acid-src.default.svc.cluster.local',
      '127.0.0.1\tlocalhost',
    ]);
    // The short name is the pod's own namespace's, and comes before any other.
    expect(lines.findIndex((l) => l.includes('acid-src.team'))).to.be.lessThan(lines.findIndex((l) => l.includes('acid-src.default')));
  });
});

describe('resizeNeed', () => {
  const pv = (storage: string, uid = 'uid-1'): V1PersistentVolume => ({
    metadata: { name: 'pvc-uid-1', annotations: { 'pv.kubernetes.io/provisioned-by': 'pgfn.dev/node-agent' } },
    spec: { capacity: { storage }, claimRef: { uid } },
  });
  const pvc = (requested: string, capacity: string): V1PersistentVolumeClaim => ({
    metadata: { name: 'data', namespace: 'team', uid: 'uid-1' },
    spec: { volumeName: 'pvc-uid-1', resources: { requests: { storage: requested } } },
    status: { phase: 'Bound', capacity: { storage: capacity } },
  });

  it('grows the PV first, then the claim status, by exact quantity', () => {
    expect(resizeNeed(pvc('2Gi', '1Gi'), pv('1Gi'))).to.deep.equal({ volume: '2Gi', claimStatus: '2Gi' });
    expect(resizeNeed(pvc('2048Mi', '1Gi'), pv('2Gi'))).to.deep.equal({ claimStatus: '2048Mi' });
    expect(resizeNeed(pvc('2Gi', '2Gi'), pv('2Gi'))).to.equal(undefined);
  });

  it("leaves volumes that are not ours or not this claim's", () => {
    expect(resizeNeed(pvc('2Gi', '1Gi'), { ...pv('1Gi'), metadata: { name: 'x' } })).to.equal(undefined);
    expect(resizeNeed(pvc('2Gi', '1Gi'), pv('1Gi', 'other'))).to.equal(undefined);
  });
});

describe('copyScripts', () => {
  it("copies the scripts executable and leaves out a directory beside them (Python's __pycache__)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgfn-scripts-'));
    try {
      const from = join(dir, 'source');
      mkdirSync(join(from, '__pycache__'), { recursive: true });
      writeFileSync(join(from, '__pycache__', 'logical_backup.cpython-311.pyc'), 'bytecode');
      writeFileSync(join(from, 'logical_backup.py'), 'print(1)\n', { mode: 0o644 });
      writeFileSync(join(from, 'post_init.sh'), 'exit 0\n', { mode: 0o644 });
      const to = join(dir, 'run', 'scripts');
      expect(copyScripts({ from, to }).sort()).to.deep.equal(['logical_backup.py', 'post_init.sh']);
      expect(readdirSync(to).sort()).to.deep.equal(['logical_backup.py', 'post_init.sh']);
      expect(statSync(join(to, 'post_init.sh')).mode & 0o777).to.equal(0o755);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
