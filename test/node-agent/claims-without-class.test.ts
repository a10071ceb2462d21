// The node agent's provisioner and claims without a storage class (ADR 0142): such a claim binds at
// once and pins its pod to the node it was bound on, so an agent serves it only for a pod that may run
// on its node. Light test files run kwok pods beside a heavy file's agent; their claims must be left to
// their own provisioning (test/support/volumes.ts), or the kwok pod can never be scheduled.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { startTestAgent, type TestAgent } from './support.js';

describe('node agent: claims without a storage class', function () {
  this.timeout(120_000);
  let core: k8s.CoreV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;

  before(async () => {
    const kc = adminConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    ns = await createNamespace(kc, 'na-claims');
    t = await startTestAgent('pgfn-agent-claims');
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
  });

  /** A claim without a class and a pod using it, placed by `nodeSelector`. */
  const claimAndPod = async (name: string, nodeSelector: Record<string, string>): Promise<void> => {
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns.name,
      body: { metadata: { name }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    });
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name },
        spec: {
          nodeSelector,
          containers: [{ name: 'c', image: 'registry.invalid/none:1' }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: name } }],
        },
      },
    });
  };
  const claim = (name: string): Promise<k8s.V1PersistentVolumeClaim> =>
    core.readNamespacedPersistentVolumeClaim({ name, namespace: ns.name });

  it("binds the claim of a pod that may run on the agent's node, and leaves a kwok pod's claim alone", async () => {
    // The kwok pod's claim first: by the time the agent has served the second, it has seen the first.
    await claimAndPod('for-kwok', { type: 'kwok' });
    await claimAndPod('for-agent', { 'kubernetes.io/hostname': t.agent.nodeName });
    const bound = await eventually(
      "the agent's claim Bound",
      async () => {
        const c = await claim('for-agent');
        return c.status?.phase === 'Bound' ? c : undefined;
      },
      60_000,
    );
    const pv = await core.readPersistentVolume({ name: bound.spec?.volumeName ?? '' });
    expect(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values).to.deep.equal([t.agent.nodeName]);
    const left = await claim('for-kwok');
    expect(left.status?.phase).to.equal('Pending');
    expect(left.spec?.volumeName ?? '').to.equal('');
  });
});
