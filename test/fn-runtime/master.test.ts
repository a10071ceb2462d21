// findMaster against the real API server: the leader Endpoints and the pods it is checked against,
// and no Endpoints read when the caller's pod list shows no live pod (ADR 0143).
import * as k8s from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import { findMaster } from '@pgfn/fn-runtime';
import { KubeClient } from '@pgfn/kube';
import { adminConfig, createNamespace } from '../support/kube.js';

describe('findMaster', function () {
  this.timeout(60_000);
  let ns: { name: string; cleanup: () => Promise<void> };
  const reads: string[] = [];
  let kube: KubeClient;
  const name = 'acid-master';
  let cluster: Postgresql & k8s.KubernetesObject;
  const pod = (deleting: boolean): V1Pod => ({
    metadata: { name: `${name}-0`, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    status: { phase: 'Running', podIP: '10.244.0.7' },
  });

  before(async () => {
    const kc = adminConfig();
    ns = await createNamespace(kc, 'find-master');
    kube = new KubeClient(kc, (verb, kind) => reads.push(`${verb} ${kind}`));
    cluster = { apiVersion: 'acid.zalan.do/v1', kind: 'postgresql', metadata: { name, namespace: ns.name }, spec: {} } as Postgresql &
      k8s.KubernetesObject;
    // Patroni's leader Endpoints as it leaves it: the leader's address, the pod named in the annotation.
    await kc.makeApiClient(k8s.CoreV1Api).createNamespacedEndpoints({
      namespace: ns.name,
      body: {
        metadata: { name, annotations: { leader: `${name}-0` } },
        subsets: [{ addresses: [{ ip: '10.244.0.7' }], ports: [{ name: 'postgresql', port: 5432 }] }],
      },
    });
  });
  after(async () => ns.cleanup());
  beforeEach(() => (reads.length = 0));

  it('reads the leader Endpoints and takes the leader it names while that pod is listed', async () => {
    const found = await findMaster({ kube, cluster, config: DEFAULT_OPERATOR_CONFIG, pods: [pod(false)] });
    expect(found.master).to.include({ host: '10.244.0.7', port: 5432, podName: `${name}-0`, source: 'endpoints' });
    expect(reads).to.deep.equal(['get Endpoints']);
  });

  it('lists the pods itself when the caller has none, and finds no master among none', async () => {
    const found = await findMaster({ kube, cluster, config: DEFAULT_OPERATOR_CONFIG });
    expect(found.master).to.equal(undefined);
    expect(reads).to.have.members(['get Endpoints', 'list Pod']);
  });

  for (const [what, pods] of [
    ['no pod', []],
    ['only a pod being deleted', [pod(true)]],
  ] as const) {
    it(`is waiting without a read when the caller's list holds ${what} (a cluster being created)`, async () => {
      const found = await findMaster({ kube, cluster, config: DEFAULT_OPERATOR_CONFIG, pods });
      expect(found).to.deep.equal({ reason: 'no pod of the cluster exists yet' });
      expect(reads).to.deep.equal([]);
    });
  }
});
