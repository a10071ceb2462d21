// compareStatefulSet: replace for immutable fields, roll for a new pod-template hash, patch for
// mutable fields — and nothing for what the API server adds or defaults.
import { expect } from 'chai';
import type { V1StatefulSet } from '@kubernetes/client-node';
import type { OperatorConfig, PostgresSpec } from '@pgfn/api';
import { compareStatefulSet } from '../../shared/builder/src/compare.js';
import { POD_TEMPLATE_CONTENT_HASH_ANNOTATION, POD_TEMPLATE_HASH_ANNOTATION } from '../../shared/builder/src/labels.js';
import { buildStatefulSet } from '../../shared/builder/src/statefulset.js';
import { makeCluster, makeConfig } from './sts-fixtures.js';

function build(spec: Partial<PostgresSpec> = {}, config: Partial<OperatorConfig> = {}, meta = {}): V1StatefulSet {
  return buildStatefulSet(makeCluster(spec, meta), makeConfig(config));
}

/** What the API server does to a StatefulSet it stores: defaults, canonical quantities, status. */
function asStored(sts: V1StatefulSet): V1StatefulSet {
  const s = structuredClone(sts);
  s.metadata = { ...s.metadata, uid: 'u-1', resourceVersion: '42', generation: 1, creationTimestamp: new Date(0) };
  const spec = s.spec!;
  spec.revisionHistoryLimit = 10;
  spec.minReadySeconds = 0;
  spec.template.metadata = { ...spec.template.metadata, creationTimestamp: undefined };
  const pod = spec.template.spec!;
  Object.assign(pod, { restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', enableServiceLinks: true });
  for (const c of pod.containers) {
    Object.assign(c, { terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' });
    for (const e of c.env ?? []) if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion = 'v1';
    if (c.resources?.limits?.['cpu'] === '1000m') c.resources.limits['cpu'] = '1';
  }
  for (const v of pod.volumes ?? []) if (v.secret) v.secret.defaultMode ??= 420;
  for (const claim of spec.volumeClaimTemplates ?? []) {
    Object.assign(claim, { apiVersion: 'v1', kind: 'PersistentVolumeClaim', status: { phase: 'Pending' } });
  }
  s.status = { replicas: 0, availableReplicas: 0 };
  return s;
}

interface Case {
  name: string;
  live: V1StatefulSet;
  desired: V1StatefulSet;
  action: 'none' | 'patch' | 'roll' | 'replace';
  reason?: RegExp;
}

const base = build({ tls: { secretName: 'tls' }, resources: { limits: { cpu: '1000m' } } });

const cases: Case[] = [
  { name: 'finds nothing between a built StatefulSet and its stored, defaulted copy', live: asStored(base), desired: base, action: 'none' },
  {
    name: 'patches a new number of replicas',
    live: asStored(build()),
    desired: build({ numberOfInstances: 3 }),
    action: 'patch',
    reason: /replicas changed from 2 to 3/,
  },
  {
    name: 'rolls pods for a new environment variable',
    live: asStored(build()),
    desired: build({ env: [{ name: 'X', value: '1' }] }),
    action: 'roll',
    reason: /pod template changed/,
  },
  { name: 'rolls pods for a new image', live: asStored(build()), desired: build({ dockerImage: 'spilo:next' }), action: 'roll' },
  {
    name: 'patches, without rolling, a new image under lazy Spilo upgrade',
    live: asStored(build({}, { enableLazySpiloUpgrade: true })),
    desired: build({ dockerImage: 'spilo:next' }, { enableLazySpiloUpgrade: true }),
    action: 'patch',
    reason: /needs no pod rotation/,
  },
  {
    name: 'patches, without rolling, new pod annotations',
    live: asStored(build()),
    desired: build({ podAnnotations: { a: 'b' } }),
    action: 'patch',
    reason: /needs no pod rotation/,
  },
  {
    name: 'patches, without rolling, a DCS-only Postgres parameter',
    live: asStored(build()),
    desired: build({ postgresql: { version: '15', parameters: { max_connections: '300' } } }),
    action: 'patch',
  },
  {
    name: 'replaces for a new volume size',
    live: asStored(build()),
    desired: build({ volume: { size: '5Gi' } }),
    action: 'replace',
    reason: /"pgdata": storage size changed/,
  },
  {
    name: 'finds nothing for the same size written differently',
    live: asStored(build({ volume: { size: '1Gi' } })),
    desired: build({ volume: { size: '1024Mi' } }),
    action: 'none',
  },
  {
    name: 'replaces for a new storage class',
    live: asStored(build()),
    desired: build({ volume: { size: '1Gi', storageClass: 'fast' } }),
    action: 'replace',
    reason: /storageClassName/,
  },
  {
    name: 'replaces for a new pod management policy',
    live: asStored(build()),
    desired: build({}, { podManagementPolicy: 'parallel' }),
    action: 'replace',
    reason: /podManagementPolicy changed from OrderedReady to Parallel/,
  },
  {
    name: 'replaces for a new selector',
    live: asStored(build()),
    desired: build({}, { clusterLabels: { application: 'db' } }),
    action: 'replace',
    reason: /selector changed/,
  },
  {
    name: 'patches a new retention policy',
    live: asStored(build()),
    desired: build({}, { persistentVolumeClaimRetentionPolicy: { when_deleted: 'delete', when_scaled: 'retain' } }),
    action: 'patch',
    reason: /persistentVolumeClaimRetentionPolicy/,
  },
  {
    name: 'patches a new owner reference',
    live: asStored(build()),
    desired: build({}, { enableOwnerReferences: true }),
    action: 'patch',
    reason: /owner reference to postgresql/,
  },
  {
    name: 'replaces for a new inherited annotation, which the immutable claim template carries too',
    live: asStored(build({}, { inheritedAnnotations: ['owner'] })),
    desired: build({}, { inheritedAnnotations: ['owner'] }, { annotations: { owner: 'me' } }),
    action: 'replace',
    reason: /annotations: "owner" added/,
  },
];

describe('compareStatefulSet', () => {
  for (const tc of cases) {
    it(tc.name, () => {
      const result = compareStatefulSet(tc.live, tc.desired);
      expect(result.action, result.reasons.join('; ')).to.equal(tc.action);
      if (tc.action === 'none') expect(result.reasons).to.deep.equal([]);
      if (tc.reason !== undefined) expect(result.reasons.join('\n')).to.match(tc.reason);
    });
  }

  it('rolls a StatefulSet that carries no hash (made by another operator)', () => {
    const live = asStored(build());
    delete live.spec!.template.metadata!.annotations![POD_TEMPLATE_HASH_ANNOTATION];
    const result = compareStatefulSet(live, build());
    expect(result.action).to.equal('roll');
    expect(result.reasons[0]).to.match(/no pod-template hash/);
  });

  it('replaces when the service name differs', () => {
    const live = asStored(build());
    live.spec!.serviceName = 'other';
    expect(compareStatefulSet(live, build())).to.deep.include({ action: 'replace' });
  });

  it('patches a changed update strategy', () => {
    const live = asStored(build());
    live.spec!.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
    expect(compareStatefulSet(live, build())).to.deep.equal({
      action: 'patch',
      reasons: ['updateStrategy changed from RollingUpdate to OnDelete'],
    });
  });

  it('treats a missing retention policy as Retain/Retain', () => {
    const live = asStored(build());
    delete live.spec!.persistentVolumeClaimRetentionPolicy;
    expect(compareStatefulSet(live, build()).action).to.equal('none');
  });

  it('ignores labels and annotations others added, but removes those it applied before', () => {
    const desired = build();
    const live = asStored(desired);
    live.metadata!.labels = { ...live.metadata!.labels, 'added-by-someone': 'x', 'was-ours': 'y' };
    live.metadata!.annotations = { ...live.metadata!.annotations, 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
    expect(compareStatefulSet(live, desired).action).to.equal('none');
    live.metadata!.managedFields = [
      {
        manager: 'pgfn',
        operation: 'Apply',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:was-ours': {}, 'f:team': {} } } },
      },
      {
        manager: 'kubectl',
        operation: 'Update',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:added-by-someone': {} } } },
      },
    ];
    expect(compareStatefulSet(live, desired)).to.deep.equal({ action: 'patch', reasons: ['labels: "was-ours" removed'] });
  });

  it('does not compare ignored annotations', () => {
    const desired = build({}, {}, {});
    const live = asStored(desired);
    live.metadata!.annotations = { ...live.metadata!.annotations, 'deployment.kubernetes.io/revision': '1' };
    desired.metadata!.annotations = { ...desired.metadata!.annotations, 'deployment.kubernetes.io/revision': '2' };
    expect(compareStatefulSet(live, desired, { ignoredAnnotations: ['deployment.kubernetes.io/revision'] }).action).to.equal('none');
    expect(compareStatefulSet(live, desired).action).to.equal('patch');
  });

  it('never reports the hash annotations as plain annotation changes', () => {
    const result = compareStatefulSet(asStored(build()), build({ env: [{ name: 'X', value: '1' }] }));
    expect(result.reasons.join('\n')).not.to.contain(POD_TEMPLATE_HASH_ANNOTATION);
    expect(result.reasons.join('\n')).not.to.contain(POD_TEMPLATE_CONTENT_HASH_ANNOTATION);
  });

  it('lists every reason when several things changed, and picks the strongest action', () => {
    const result = compareStatefulSet(asStored(build()), build({ numberOfInstances: 4, dockerImage: 'x', volume: { size: '2Gi' } }));
    expect(result.action).to.equal('replace');
    expect(result.reasons).to.have.length(3);
  });
});
