import type { V1NodeSelectorRequirement, V1Pod } from '@kubernetes/client-node';
import { expect } from 'chai';
import { claimsOf, podFitsNode } from '@pgfn/node-agent';

const AGENT = { name: 'pgfn-agent-0', labels: { 'kubernetes.io/hostname': 'pgfn-agent-0', 'pgfn.dev/node-agent': 'true', rank: '3' } };
const KWOK = { name: 'kwok-node-0', labels: { 'kubernetes.io/hostname': 'kwok-node-0', type: 'kwok' } };

const requiring = (...terms: V1NodeSelectorRequirement[][]): V1Pod => ({
  spec: {
    containers: [],
    affinity: {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms.map((t) => ({ matchExpressions: t })) } },
    },
  },
});

describe('node agent: which pods may run on a node (for claims without a class, ADR 0142)', () => {
  it('lets a pod without placement run anywhere, and holds a nodeSelector to every label', () => {
    expect(podFitsNode({ spec: { containers: [] } }, AGENT)).to.equal(true);
    expect(podFitsNode({ spec: { containers: [], nodeSelector: { 'pgfn.dev/node-agent': 'true' } } }, AGENT)).to.equal(true);
    expect(podFitsNode({ spec: { containers: [], nodeSelector: { 'pgfn.dev/node-agent': 'true', type: 'kwok' } } }, AGENT)).to.equal(false);
  });

  it("keeps a kwok-pinned pod (the tests' onKwok) off an agent's node and on kwok's", () => {
    const kwokPod = requiring([{ key: 'type', operator: 'In', values: ['kwok'] }]);
    expect(podFitsNode(kwokPod, AGENT)).to.equal(false);
    expect(podFitsNode(kwokPod, KWOK)).to.equal(true);
  });

  it('ORs the terms, ANDs the expressions of a term, and knows every operator', () => {
    const spilo = requiring(
      [{ key: 'pgfn.dev/node-agent', operator: 'In', values: ['true'] }],
      [{ key: 'type', operator: 'In', values: ['kwok'] }],
    );
    expect(podFitsNode(spilo, AGENT)).to.equal(true);
    expect(podFitsNode(spilo, KWOK)).to.equal(true);
    const both = requiring([
      { key: 'pgfn.dev/node-agent', operator: 'Exists' },
      { key: 'type', operator: 'DoesNotExist' },
      { key: 'rank', operator: 'Gt', values: ['2'] },
      { key: 'rank', operator: 'Lt', values: ['4'] },
      { key: 'zone', operator: 'NotIn', values: ['a'] },
    ]);
    expect(podFitsNode(both, AGENT)).to.equal(true);
    expect(podFitsNode(both, KWOK)).to.equal(false);
    expect(podFitsNode(requiring([{ key: 'rank', operator: 'Gt', values: ['3'] }]), AGENT)).to.equal(false);
    expect(podFitsNode(requiring([]), AGENT), 'an empty term selects no node').to.equal(false);
  });

  it('matches metadata.name fields and lists the claims a pod mounts', () => {
    const named: V1Pod = {
      spec: {
        containers: [],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['kwok-node-0'] }] }],
            },
          },
        },
        volumes: [
          { name: 'a', persistentVolumeClaim: { claimName: 'pgdata-acid-0' } },
          { name: 'b', emptyDir: {} },
        ],
      },
    };
    expect(podFitsNode(named, KWOK)).to.equal(true);
    expect(podFitsNode(named, AGENT)).to.equal(false);
    expect(claimsOf(named)).to.deep.equal(['pgdata-acid-0']);
  });
});
