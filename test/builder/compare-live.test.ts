// compareLive's rules, one case each: what counts as drift and what is the API server's or another
// controller's doing. The same rules against the real API server: drift.test.ts.
import type { KubernetesObject } from '@kubernetes/client-node';
import { compareLive } from '@pgfn/builder';
import { expect } from 'chai';

type Obj = KubernetesObject & Record<string, unknown>;
const obj = (kind: string, body: Record<string, unknown>, labels: Record<string, string> = { app: 'x' }): Obj => ({
  apiVersion: 'v1',
  kind,
  metadata: { name: 'o', namespace: 'ns', labels },
  ...body,
});

const none: [string, Obj, Obj][] = [
  [
    'defaults the API server adds',
    obj('Service', { spec: { ports: [{ port: 5432 }] } }),
    obj('Service', { spec: { ports: [{ port: 5432, protocol: 'TCP', targetPort: 5432 }], clusterIP: '10.0.0.1', type: 'ClusterIP' } }),
  ],
  ['labels another controller added', obj('Service', {}), obj('Service', {}, { app: 'x', 'other.io/x': 'y' })],
  [
    'an empty value the API server drops',
    obj('Deployment', { spec: { template: { spec: { volumes: [] } } } }),
    obj('Deployment', { spec: { template: { spec: {} } } }),
  ],
  ['false and 0 omitted as empty', obj('Pod', { spec: { hostNetwork: false, priority: 0 } }), obj('Pod', { spec: {} })],
  [
    'a quantity written differently',
    obj('Pod', { spec: { containers: [{ name: 'c', resources: { limits: { cpu: '1000m', memory: '1024Mi' } } }] } }),
    obj('Pod', { spec: { containers: [{ name: 'c', resources: { limits: { cpu: '1', memory: '1Gi' } } }] } }),
  ],
  [
    'an int-or-string as the other',
    obj('PodDisruptionBudget', { spec: { minAvailable: 1 } }),
    obj('PodDisruptionBudget', { spec: { minAvailable: '1' } }),
  ],
  [
    "a Secret's data (a password)",
    obj('Secret', { data: { password: 'b2xk' } }),
    obj('Secret', { data: { password: 'bmV3', extra: 'eA==' } }),
  ],
  ['status', obj('StatefulSet', { status: { replicas: 1 } }), obj('StatefulSet', { status: { replicas: 3 } })],
];

const drift: [string, Obj, Obj, RegExp, boolean][] = [
  [
    'a label removed',
    obj('Service', {}, { app: 'x', role: 'replica' }),
    obj('Service', {}, { app: 'x' }),
    /metadata\.labels\["role"\]: missing/,
    false,
  ],
  [
    'a scalar changed',
    obj('CronJob', { spec: { schedule: '1 * * * *' } }),
    obj('CronJob', { spec: { schedule: '2 * * * *' } }),
    /spec\.schedule: "2 \* \* \* \*", want "1 \* \* \* \*"/,
    false,
  ],
  [
    'a replica count of 0 raised',
    obj('StatefulSet', { spec: { replicas: 0 } }),
    obj('StatefulSet', { spec: { replicas: 2 } }),
    /spec\.replicas: 2, want 0/,
    false,
  ],
  [
    'a keyed entry with another key',
    obj('Service', { spec: { ports: [{ name: 'postgresql', port: 5432 }] } }),
    obj('Service', { spec: { ports: [{ name: 'postgresql', port: 5433 }] } }),
    /spec\.ports\[5432\/TCP\]: missing/,
    true,
  ],
  [
    'an entry added to a keyed list inside another',
    obj('Deployment', { spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'A', value: '1' }] }] } } } }),
    obj('Deployment', {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'c',
                env: [
                  { name: 'A', value: '1' },
                  { name: 'B', value: '2' },
                ],
              },
            ],
          },
        },
      },
    }),
    /spec\.template\.spec\.containers\[c\]\.env: \[B\] not applied by us/,
    true,
  ],
  [
    'an atomic list reordered',
    obj('Pod', { spec: { containers: [{ name: 'c', args: ['a', 'b'] }] } }),
    obj('Pod', { spec: { containers: [{ name: 'c', args: ['b', 'a'] }] } }),
    /args\[0\]: "b", want "a"/,
    false,
  ],
  [
    "a Secret's owner reference removed",
    {
      ...obj('Secret', {}),
      metadata: { name: 'o', ownerReferences: [{ apiVersion: 'acid.zalan.do/v1', kind: 'postgresql', name: 'c', uid: 'u' }] },
    },
    obj('Secret', {}, {}),
    /the reference to postgresql "c" is missing/,
    false,
  ],
];

describe('compareLive', () => {
  for (const [what, desired, live] of none) {
    it(`ignores ${what}`, () => {
      expect(compareLive(live, desired)).to.deep.equal({ action: 'none', reasons: [] });
    });
  }
  for (const [what, desired, live, reason, replaces] of drift) {
    it(`finds ${what}`, () => {
      const cmp = compareLive(live, desired);
      expect(cmp.action).to.equal('repair');
      expect(cmp.reasons.join('\n')).to.match(reason);
      expect(cmp.replaceLists !== undefined, 'a merge patch sets the list back').to.equal(replaces);
    });
  }
  it('replaces the outermost list when the foreign entry is in a nested one', () => {
    const desired = drift[4]?.[1] as Obj;
    const cmp = compareLive(drift[4]?.[2] as Obj, desired);
    expect(cmp.replaceLists).to.deep.equal({
      spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'A', value: '1' }] }] } } },
    });
  });
  it("leaves the configuration's ignored_annotations alone, in metadata and in the pod template", () => {
    const desired = obj('StatefulSet', { spec: { template: { metadata: { annotations: { 'tool.io/x': 'a', keep: 'k' } } } } });
    desired.metadata = { ...desired.metadata, annotations: { 'tool.io/x': 'a' } };
    const live = obj('StatefulSet', { spec: { template: { metadata: { annotations: { 'tool.io/x': 'b', keep: 'k' } } } } });
    live.metadata = { ...live.metadata, annotations: { 'tool.io/x': 'b' } };
    expect(compareLive(live, desired, { ignoredAnnotations: ['tool.io/x'] }).action).to.equal('none');
    expect(compareLive(live, desired).reasons).to.have.length(2);
  });
  it('names the manager that wrote after our last apply', () => {
    const live = obj('Service', {}, {});
    live.metadata = {
      ...live.metadata,
      managedFields: [
        { manager: 'pgfn', operation: 'Apply', time: new Date('2026-01-01T00:00:00Z') },
        { manager: 'kubectl-label', operation: 'Update', time: new Date('2026-01-02T00:00:00Z') },
      ],
    };
    expect(compareLive(live, obj('Service', {})).reasons).to.deep.equal([
      'metadata.labels["app"]: missing (want "x") (last written by kubectl-label)',
    ]);
  });
});
