import type { V1ServiceSpec } from '@kubernetes/client-node';
import type { PostgresSpec } from '@pgfn/api';
import {
  buildMasterEndpoints,
  buildPoolerService,
  buildService,
  DNS_NAME_ANNOTATION,
  serviceAnnotations,
  serviceExposure,
  type PostgresRole,
} from '@pgfn/builder';
import { expect } from 'chai';
import { cluster, config } from './support.js';

const MASTER_DNS = 'acid-test-stg.test.db.example.com,test-stg.acid.db.example.com';
const REPLICA_DNS = 'acid-test-stg-repl.test.db.example.com,test-stg-repl.acid.db.example.com';
const IDLE = 'service.beta.kubernetes.io/aws-load-balancer-connection-idle-timeout';
const NLB = 'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type';

// Upstream TestServiceAnnotations (pkg/cluster/cluster_test.go), re-expressed.
interface AnnotationCase {
  about: string;
  role: PostgresRole;
  specLb?: boolean;
  configLb: boolean;
  teamPrefix?: boolean;
  operator?: Record<string, string>;
  service?: Record<string, string>;
  perRole?: Record<string, string>;
  expect: Record<string, string>;
}

function annotationCases(role: PostgresRole, dns: string): AnnotationCase[] {
  const r = role;
  return [
    { about: `${r}: no annotations, load balancer off in manifest and config`, role, specLb: false, configLb: false, expect: {} },
    {
      about: `${r}: no annotations, load balancer on in manifest`,
      role,
      specLb: true,
      configLb: false,
      expect: { [DNS_NAME_ANNOTATION]: dns },
    },
    { about: `${r}: load balancer on in config but off in manifest`, role, specLb: false, configLb: true, expect: {} },
    { about: `${r}: load balancer only set in config`, role, configLb: true, expect: { [DNS_NAME_ANNOTATION]: dns } },
    {
      about: `${r}: cluster annotations with load balancer`,
      role,
      configLb: true,
      service: { foo: 'bar' },
      expect: { [DNS_NAME_ANNOTATION]: dns, foo: 'bar' },
    },
    {
      about: `${r}: cluster annotations without load balancer`,
      role,
      specLb: false,
      configLb: true,
      service: { foo: 'bar' },
      expect: { foo: 'bar' },
    },
    {
      about: `${r}: operator annotations with load balancer`,
      role,
      configLb: true,
      operator: { foo: 'bar' },
      expect: { [DNS_NAME_ANNOTATION]: dns, foo: 'bar' },
    },
    {
      about: `${r}: operator annotations override defaults`,
      role,
      configLb: true,
      operator: { [IDLE]: '1800' },
      expect: { [DNS_NAME_ANNOTATION]: dns, [IDLE]: '1800' },
    },
    {
      about: `${r}: cluster annotations override defaults`,
      role,
      configLb: true,
      service: { [IDLE]: '1800' },
      expect: { [DNS_NAME_ANNOTATION]: dns, [IDLE]: '1800' },
    },
    {
      about: `${r}: cluster annotations do not override the external-dns name`,
      role,
      configLb: true,
      service: { [DNS_NAME_ANNOTATION]: 'wrong.external-dns-name.example.com' },
      expect: { [DNS_NAME_ANNOTATION]: dns },
    },
    { about: `${r}: team ID prefix enabled`, role, configLb: true, teamPrefix: true, expect: { [DNS_NAME_ANNOTATION]: dns } },
    {
      about: `${r}: role service annotations override service annotations`,
      role,
      configLb: true,
      service: { [NLB]: 'ip', [IDLE]: '1800' },
      perRole: { [IDLE]: '2000' },
      expect: { [DNS_NAME_ANNOTATION]: dns, [NLB]: 'ip', [IDLE]: '2000' },
    },
  ];
}

const COMMON: AnnotationCase[] = [
  {
    about: 'cluster annotations add to operator annotations',
    role: 'replica',
    configLb: false,
    operator: { foo: 'bar' },
    service: { post: 'gres' },
    expect: { foo: 'bar', post: 'gres' },
  },
  {
    about: 'cluster annotations override operator annotations',
    role: 'replica',
    configLb: false,
    operator: { foo: 'bar', post: 'gres' },
    service: { post: 'greSQL' },
    expect: { foo: 'bar', post: 'greSQL' },
  },
];

describe('serviceAnnotations', () => {
  for (const tc of [...annotationCases('master', MASTER_DNS), ...annotationCases('replica', REPLICA_DNS), ...COMMON]) {
    it(tc.about, () => {
      const lbKey = tc.role === 'master' ? 'enableMasterLoadBalancer' : 'enableReplicaLoadBalancer';
      const perRoleKey = tc.role === 'master' ? 'masterServiceAnnotations' : 'replicaServiceAnnotations';
      const spec: Partial<PostgresSpec> = { serviceAnnotations: tc.service ?? {} };
      if (tc.specLb !== undefined) spec[lbKey] = tc.specLb;
      if (tc.perRole) spec[perRoleKey] = tc.perRole;
      const cfg = config({
        enableTeamIdClusternamePrefix: tc.teamPrefix ?? false,
        customServiceAnnotations: tc.operator ?? {},
        [lbKey]: tc.configLb,
        masterDnsNameFormat: '{cluster}-stg.{namespace}.{hostedzone}',
        masterLegacyDnsNameFormat: '{cluster}-stg.{team}.{hostedzone}',
        replicaDnsNameFormat: '{cluster}-stg-repl.{namespace}.{hostedzone}',
        replicaLegacyDnsNameFormat: '{cluster}-stg-repl.{team}.{hostedzone}',
        dbHostedZone: 'db.example.com',
      });
      expect(serviceAnnotations(cluster(spec), cfg, tc.role)).to.deep.equal(tc.expect);
    });
  }

  it('omits the legacy DNS name when the cluster name does not start with the team', () => {
    const c = cluster({ enableMasterLoadBalancer: true }, { name: 'orders' });
    expect(serviceAnnotations(c, config(), 'master')[DNS_NAME_ANNOTATION]).to.equal('orders.test.db.example.com');
  });
});

describe('serviceExposure', () => {
  // Upstream TestCreateLoadBalancerLogic.
  const cases: [string, Partial<PostgresSpec>, boolean, boolean][] = [
    ['replica load balancer enabled in the manifest', { enableReplicaLoadBalancer: true }, false, true],
    ['replica load balancer disabled in the manifest', { enableReplicaLoadBalancer: false }, true, false],
    ['replica load balancer from the config (on)', {}, true, true],
    ['replica load balancer from the config (off)', {}, false, false],
  ];
  for (const [about, spec, configured, want] of cases) {
    it(about, () => {
      expect(serviceExposure(cluster(spec).spec, config({ enableReplicaLoadBalancer: configured }), 'replica').loadBalancer).to.equal(want);
    });
  }
});

/** The four ServiceSpecs of upstream's getServices helper (master, master pooler, replica, replica pooler). */
function expectedSpecs(type: string, sourceRanges: string[] | undefined, policy: string | undefined, nodePort: number): V1ServiceSpec[] {
  const name = 'acid-test';
  const spec = (portName: string, selector: Record<string, string>): V1ServiceSpec => {
    const s: V1ServiceSpec = {
      type,
      ports: [{ name: portName, port: 5432, targetPort: 5432, ...(nodePort ? { nodePort } : {}) }],
      selector,
    };
    if (sourceRanges) s.loadBalancerSourceRanges = sourceRanges;
    if (policy) s.externalTrafficPolicy = policy;
    return s;
  };
  return [
    spec('postgresql', { application: 'spilo', 'cluster-name': name, 'spilo-role': 'master' }),
    spec(`${name}-pooler`, { 'connection-pooler': `${name}-pooler` }),
    spec('postgresql', { application: 'spilo', 'cluster-name': name, 'spilo-role': 'replica' }),
    spec(`${name}-pooler-repl`, { 'connection-pooler': `${name}-pooler-repl` }),
  ];
}

function allSpecs(spec: Partial<PostgresSpec>, flags: Record<string, boolean>): V1ServiceSpec[] {
  const c = cluster({ enableConnectionPooler: true, enableReplicaConnectionPooler: true, ...spec });
  const cfg = config(flags);
  return (['master', 'replica'] as const).flatMap((role) => [
    buildService(c, cfg, role).spec,
    buildPoolerService(c, cfg, role)?.spec,
  ]) as V1ServiceSpec[];
}

const all = (prefix: string, value: boolean): Record<string, boolean> => ({
  [`enableMaster${prefix}`]: value,
  [`enableMasterPooler${prefix}`]: value,
  [`enableReplica${prefix}`]: value,
  [`enableReplicaPooler${prefix}`]: value,
});

describe('buildService and buildPoolerService types', () => {
  const ranges = ['192.186.1.2/22'];
  // Upstream TestEnableLoadBalancers and TestEnableNodePorts.
  it('keeps ClusterIP when the config enables load balancers but the manifest disables them', () => {
    expect(allSpecs({ allowedSourceRanges: ranges, ...all('LoadBalancer', false) }, all('LoadBalancer', true))).to.deep.equal(
      expectedSpecs('ClusterIP', undefined, undefined, 0),
    );
  });
  it('creates load balancers the manifest enables, with its source ranges', () => {
    expect(allSpecs({ allowedSourceRanges: ranges, ...all('LoadBalancer', true) }, all('LoadBalancer', false))).to.deep.equal(
      expectedSpecs('LoadBalancer', ranges, 'Cluster', 0),
    );
  });
  it('keeps ClusterIP when the config enables node ports but the manifest disables them', () => {
    expect(allSpecs(all('NodePort', false), all('NodePort', true))).to.deep.equal(expectedSpecs('ClusterIP', undefined, undefined, 0));
  });
  it('creates node ports the manifest enables', () => {
    expect(allSpecs(all('NodePort', true), all('NodePort', false))).to.deep.equal(expectedSpecs('NodePort', undefined, 'Cluster', 0));
  });
  it('uses the node ports the manifest names', () => {
    const ports = { masterNodePort: 1337, masterPoolerNodePort: 1337, replicaNodePort: 1337, replicaPoolerNodePort: 1337 };
    expect(allSpecs({ ...all('NodePort', true), ...ports }, all('NodePort', false))).to.deep.equal(
      expectedSpecs('NodePort', undefined, 'Cluster', 1337),
    );
  });
  it('prefers a node port over a load balancer and then sets no DNS name', () => {
    const svc = buildService(cluster({ enableMasterNodePort: true, enableMasterLoadBalancer: true }), config(), 'master');
    expect(svc.spec?.type).to.equal('NodePort');
    expect(svc.metadata?.annotations?.[DNS_NAME_ANNOTATION]).to.equal(undefined);
  });
  it('locks a load balancer without allowedSourceRanges to localhost', () => {
    const svc = buildService(cluster({ enableReplicaLoadBalancer: true }), config(), 'replica');
    expect(svc.spec?.loadBalancerSourceRanges).to.deep.equal(['127.0.0.1/32']);
  });
  it('takes externalTrafficPolicy from the config (upstream TestGenerateService)', () => {
    for (const policy of ['Cluster', 'Local']) {
      const svc = buildService(cluster({ enableMasterLoadBalancer: true }), config({ externalTrafficPolicy: policy }), 'master');
      expect(svc.spec?.externalTrafficPolicy).to.equal(policy);
    }
  });
});

describe('buildService selectors and metadata', () => {
  it('leaves the master Service without a selector while Patroni uses Endpoints', () => {
    const cfg = config({ kubernetesUseConfigmaps: false });
    expect(buildService(cluster(), cfg, 'master').spec?.selector).to.equal(undefined);
    expect(buildService(cluster(), cfg, 'replica').spec?.selector).to.deep.equal({
      application: 'spilo',
      'cluster-name': 'acid-test',
      'spilo-role': 'replica',
    });
  });
  it('selects the master pod when Patroni uses ConfigMaps', () => {
    expect(buildService(cluster(), config({ kubernetesUseConfigmaps: true }), 'master').spec?.selector).to.deep.equal({
      application: 'spilo',
      'cluster-name': 'acid-test',
      'spilo-role': 'master',
    });
  });
  it('names the Services <c> and <c>-repl and labels them with team and role', () => {
    const replica = buildService(cluster(), config(), 'replica');
    expect(replica.metadata?.name).to.equal('acid-test-repl');
    expect(replica.metadata?.namespace).to.equal('test');
    expect(replica.metadata?.labels).to.deep.equal({
      application: 'spilo',
      'cluster-name': 'acid-test',
      team: 'acid',
      'spilo-role': 'replica',
    });
  });
  it('adds inherited annotations of the postgresql object', () => {
    const c = cluster({}, { annotations: { 'owner.example.com/cost-center': '42', other: 'x' } });
    const svc = buildService(c, config({ inheritedAnnotations: ['owner.example.com/cost-center'] }), 'master');
    expect(svc.metadata?.annotations).to.deep.equal({ 'owner.example.com/cost-center': '42' });
  });
  it('points at the postgresql object when owner references are enabled', () => {
    const c = cluster({}, { uid: '1234' });
    expect(buildService(c, config({ enableOwnerReferences: true }), 'master').metadata?.ownerReferences).to.deep.equal([
      { apiVersion: 'acid.zalan.do/v1', kind: 'postgresql', name: 'acid-test', uid: '1234', controller: true },
    ]);
    expect(buildService(c, config(), 'master').metadata?.ownerReferences).to.equal(undefined);
  });
});

describe('buildMasterEndpoints', () => {
  it('builds empty Endpoints <c> when Patroni keeps the leader in Endpoints', () => {
    const ep = buildMasterEndpoints(cluster(), config({ kubernetesUseConfigmaps: false }));
    expect(ep?.metadata?.name).to.equal('acid-test');
    expect(ep?.metadata?.labels?.['spilo-role']).to.equal('master');
    expect(ep).to.not.have.property('subsets');
  });
  it('builds none in ConfigMaps mode', () => {
    expect(buildMasterEndpoints(cluster(), config({ kubernetesUseConfigmaps: true }))).to.equal(undefined);
  });
  it('still builds them with etcd as the DCS, as upstream does', () => {
    expect(buildMasterEndpoints(cluster(), config({ etcdHost: 'etcd:2379' }))).to.not.equal(undefined);
  });
});
