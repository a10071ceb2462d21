// equalitySelector: the one way pgfn turns labels into a list selector; the API server is the judge.
import { expect } from 'chai';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { equalitySelector, KubeClient } from '@pgfn/kube';
import { adminConfig, createNamespace } from '../support/kube.js';

describe('equalitySelector', () => {
  it('lists exactly the objects that carry every label', async () => {
    const kc = adminConfig();
    const ns = await createNamespace(kc, 'selector');
    try {
      const kube = new KubeClient(kc);
      const labels = { 'cluster-name': 'acid-a', team: 'acid' };
      const objects: [string, Record<string, string>][] = [
        ['both', labels],
        ['other-cluster', { ...labels, 'cluster-name': 'acid-b' }],
        ['one-label', { 'cluster-name': 'acid-a' }],
      ];
      for (const [name, l] of objects)
        await kube.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns.name, labels: l } });
      expect(equalitySelector(labels)).to.equal('cluster-name=acid-a,team=acid');
      const listed = await kube.list<V1ConfigMap>('v1', 'ConfigMap', ns.name, equalitySelector(labels));
      expect(listed.map((c) => c.metadata?.name)).to.deep.equal(['both']);
    } finally {
      await ns.cleanup();
    }
  });
});
