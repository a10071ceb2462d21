// The node agent's provisioner as the volume resizer of its StorageClass, against the real API server
// (its PersistentVolumeClaimResize admission and claim validation) and kube-controller-manager.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { resizeNeed } from '@pgfn/node-agent';
import { adminConfig, createNamespace, eventually, statusOf } from '../support/kube.js';
import { startTestAgent, type TestAgent } from './support.js';

describe('node agent: volume resize', function () {
  this.timeout(120_000);
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let storage: k8s.StorageV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };
  let t: TestAgent;

  before(async () => {
    kc = adminConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    storage = kc.makeApiClient(k8s.StorageV1Api);
    ns = await createNamespace(kc, 'na-resize');
    t = await startTestAgent('pgfn-agent-resize');
  });
  after(async () => {
    await t?.stop();
    await ns?.cleanup();
  });

  const claim = (name: string): k8s.V1PersistentVolumeClaim => ({
    metadata: { name, namespace: ns.name, annotations: { 'volume.kubernetes.io/selected-node': t.agent.nodeName } },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'pgfn-local', resources: { requests: { storage: '1Gi' } } },
  });
  const setSize = (name: string, storage: string): Promise<k8s.V1PersistentVolumeClaim> =>
    core.patchNamespacedPersistentVolumeClaim(
      { name, namespace: ns.name, body: { spec: { resources: { requests: { storage } } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );

  it('offers a StorageClass that allows expansion', async () => {
    const cls = await storage.readStorageClass({ name: 'pgfn-local' });
    expect(cls.allowVolumeExpansion).to.equal(true);
  });

  it('grows the PV and the claim status when a bound claim asks for more', async () => {
    await core.createNamespacedPersistentVolumeClaim({ namespace: ns.name, body: claim('data-a') });
    const bound = await eventually(
      'the claim bound to a PV of the agent',
      async () => {
        const c = await core.readNamespacedPersistentVolumeClaim({ name: 'data-a', namespace: ns.name });
        return c.status?.phase === 'Bound' ? c : undefined;
      },
      60_000,
    );
    expect(bound.status?.capacity?.['storage']).to.equal('1Gi');
    await setSize('data-a', '3Gi');
    const grown = await eventually(
      'status.capacity 3Gi',
      async () => {
        const c = await core.readNamespacedPersistentVolumeClaim({ name: 'data-a', namespace: ns.name });
        return c.status?.capacity?.['storage'] === '3Gi' ? c : undefined;
      },
      30_000,
    );
    const pv = await core.readPersistentVolume({ name: grown.spec?.volumeName ?? '' });
    expect(pv.spec?.capacity?.['storage']).to.equal('3Gi');
    expect(resizeNeed(grown, pv), 'nothing left to do').to.equal(undefined);
  });

  it('is refused a shrink by the API server, and the volume keeps its size', async () => {
    const err = await setSize('data-a', '1Gi').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(statusOf(err)).to.equal(422);
    expect(String((err as { body?: unknown }).body)).to.match(/field can not be less than (previous value|status.capacity)/);
    const c = await core.readNamespacedPersistentVolumeClaim({ name: 'data-a', namespace: ns.name });
    expect(c.status?.capacity?.['storage']).to.equal('3Gi');
  });
});
