import { expect } from 'chai';
import type { V1Endpoints, V1Pod } from '@kubernetes/client-node';
import { pickMaster } from '@pgfn/roles';

const pod = (
  name: string,
  role: string | undefined,
  ip: string,
  more: { phase?: string; deleting?: boolean; port?: number } = {},
): V1Pod => ({
  metadata: {
    name,
    labels: { 'cluster-name': 'acid', ...(role !== undefined ? { 'spilo-role': role } : {}) },
    ...(more.deleting ? { deletionTimestamp: new Date() } : {}),
  },
  spec: {
    containers: [{ name: 'postgres', ...(more.port !== undefined ? { ports: [{ name: 'postgresql', containerPort: more.port }] } : {}) }],
  },
  status: { phase: more.phase ?? 'Running', podIP: ip },
});

const endpoints = (ip: string | undefined, leader = 'acid-0', port = 5432): V1Endpoints => ({
  metadata: { name: 'acid', annotations: { leader } },
  subsets:
    ip === undefined ? [] : [{ addresses: [{ ip, targetRef: { kind: 'Pod', name: leader } }], ports: [{ name: 'postgresql', port }] }],
});

describe('pickMaster', () => {
  const cases: { name: string; endpoints?: V1Endpoints; pods?: V1Pod[]; host?: string; port?: number; source?: string; reason?: RegExp }[] =
    [
      {
        name: 'takes the leader address Patroni wrote into the Endpoints',
        endpoints: endpoints('10.0.0.5', 'acid-1', 6432),
        host: '10.0.0.5',
        port: 6432,
        source: 'endpoints',
      },
      { name: 'trusts the Endpoints when no pods were read', endpoints: endpoints('10.0.0.5'), host: '10.0.0.5', source: 'endpoints' },
      {
        name: 'falls back to the pod labelled master when the Endpoints are empty',
        endpoints: endpoints(undefined),
        pods: [pod('acid-0', 'replica', '10.0.0.4'), pod('acid-1', 'master', '10.0.0.6')],
        host: '10.0.0.6',
        port: 5432,
        source: 'pod',
      },
      {
        name: 'uses the container port of the master pod',
        pods: [pod('acid-0', 'master', '10.0.0.4', { port: 5433 })],
        host: '10.0.0.4',
        port: 5433,
        source: 'pod',
      },
      {
        name: 'ignores Endpoints that name a pod that is gone',
        endpoints: endpoints('10.0.0.9', 'acid-9'),
        pods: [pod('acid-0', 'master', '10.0.0.4')],
        host: '10.0.0.4',
        source: 'pod',
      },
      {
        name: 'ignores master pods that are not running or are being deleted',
        pods: [pod('acid-0', 'master', '10.0.0.4', { phase: 'Pending' }), pod('acid-1', 'master', '10.0.0.5', { deleting: true })],
        reason: /no leader/,
      },
      {
        name: 'settles two master labels with the leader annotation',
        endpoints: endpoints(undefined, 'acid-1'),
        pods: [pod('acid-0', 'master', '10.0.0.4'), pod('acid-1', 'master', '10.0.0.5')],
        host: '10.0.0.5',
        source: 'pod',
      },
      {
        name: 'refuses to guess between two masters',
        pods: [pod('acid-0', 'master', '10.0.0.4'), pod('acid-1', 'master', '10.0.0.5')],
        reason: /2 pods are labelled spilo-role=master/,
      },
      { name: 'reports when there is nothing to go by', reason: /no leader in the Endpoints/ },
    ];
  for (const c of cases) {
    it(c.name, () => {
      const result = pickMaster({ ...(c.endpoints ? { endpoints: c.endpoints } : {}), ...(c.pods ? { pods: c.pods } : {}) });
      if (c.reason !== undefined) {
        expect(result.reason).to.match(c.reason);
        return;
      }
      expect(result.master).to.include({ host: c.host, source: c.source, ...(c.port !== undefined ? { port: c.port } : {}) });
    });
  }
  it('reads a custom role label', () => {
    const custom = pod('acid-0', undefined, '10.0.0.4');
    custom.metadata!.labels!['role'] = 'master';
    expect(pickMaster({ pods: [custom], roleLabel: 'role' }).master?.host).to.equal('10.0.0.4');
  });
});
