// A StatefulSet replaced several times in a row (the volume size edited back and forth) keeps its pods.
// Deleting it, orphaning, while its controller was still adopting the pods a previous replace had
// orphaned left them owned by a UID that no longer existed, and the garbage collector deleted every pod
// at once — a restart of the whole cluster without switchover (found by the rollout test under load;
// replaces back to back reproduce it within a round or two). reconcile's replace now waits for adoption.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { KWOK_NODE_NAME } from '@pgfn/controlplane';
import { KubeClient } from '@pgfn/kube';
import { replace } from '../../functions/reconcile/src/execute.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';

describe('reconcile: a StatefulSet replaced back to back keeps its pods (real control plane, kwok pods)', function () {
  this.timeout(300_000);
  let kube: KubeClient;
  let core: k8s.CoreV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };

  before(async () => {
    const kc = adminConfig();
    kube = new KubeClient(kc);
    core = kc.makeApiClient(k8s.CoreV1Api);
    ns = await createNamespace(kc, 'replace');
  });
  after(async () => {
    await ns.cleanup();
  });

  const statefulSet = (size: string): k8s.V1StatefulSet & k8s.KubernetesObject => ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'acid-replace', namespace: ns.name },
    spec: {
      replicas: 3,
      serviceName: 'acid-replace',
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: { 'cluster-name': 'acid-replace' } },
      template: {
        metadata: { labels: { 'cluster-name': 'acid-replace' } },
        spec: { nodeName: KWOK_NODE_NAME, tolerations: [{ operator: 'Exists' }], containers: [{ name: 'postgres', image: 'spilo' }] },
      },
      volumeClaimTemplates: [
        { metadata: { name: 'pgdata' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } } },
      ],
    },
  });
  const podUids = async (): Promise<string[]> =>
    (await core.listNamespacedPod({ namespace: ns.name })).items.map((p) => `${p.metadata?.name ?? ''}/${p.metadata?.uid ?? ''}`).sort();

  it('keeps every pod through three replaces in a row, ten times over', async () => {
    await kube.apply(statefulSet('1Gi'));
    const before = await eventually(
      'three pods owned by the StatefulSet',
      async () => {
        const pods = (await core.listNamespacedPod({ namespace: ns.name })).items;
        return pods.length === 3 && pods.every((p) => (p.metadata?.ownerReferences ?? []).length > 0) ? podUids() : undefined;
      },
      60_000,
    );
    for (let round = 1; round <= 10; round++) {
      for (const size of ['2Gi', '1Gi', '2Gi']) await replace(kube, statefulSet(size));
      // the garbage collector acts within a second or two of the last replace
      await new Promise((r) => setTimeout(r, 3000));
      expect(await podUids(), `round ${round}: the same pods`).to.deep.equal(before);
    }
  });
});
