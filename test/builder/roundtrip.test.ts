// The built StatefulSet survives a round trip through the real API server: after the server has
// stored it (adding its defaults), comparing it with a freshly built desired one finds nothing.
// This is the guard against upstream's endless-rollout bugs (#1383, #1447, #3039).
import { expect } from 'chai';
import * as k8s from '@kubernetes/client-node';
import type { OperatorConfig, PostgresSpec } from '@pgfn/api';
import { compareStatefulSet } from '../../shared/builder/src/compare.js';
import { FIELD_MANAGER } from '../../shared/builder/src/labels.js';
import { buildStatefulSet } from '../../shared/builder/src/statefulset.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { makeCluster, makeConfig } from './sts-fixtures.js';

interface Case {
  readonly name: string;
  readonly spec: Partial<PostgresSpec>;
  readonly config: Partial<OperatorConfig>;
}

const everything: Partial<PostgresSpec> = {
  numberOfInstances: 3,
  dockerImage: 'ghcr.io/zalando/spilo-15:3.0-p1',
  postgresql: { version: '15', parameters: { max_connections: '200', shared_buffers: '256MB', log_line_prefix: '<%m>' } },
  patroni: { ttl: 30, pg_hba: ['local all all trust'], slots: { s1: { type: 'physical' } } },
  resources: { requests: { cpu: '0.5', memory: '1024Mi' }, limits: { cpu: '1000m', memory: '1Gi' } },
  volume: {
    size: '1024Mi',
    storageClass: 'standard',
    subPath: '$(POD_NAME)',
    isSubPathExpr: true,
    selector: { matchLabels: { disk: 'ssd' } },
  },
  tls: { secretName: 'tls-secret', caSecretName: 'ca-secret', caFile: 'ca.crt' },
  sidecars: [
    {
      name: 'exporter',
      image: 'exporter:1',
      ports: [{ containerPort: 9187 }],
      env: [{ name: 'X', value: '1' }],
      resources: { limits: { memory: '100Mi' } },
    },
  ],
  initContainers: [{ name: 'init', image: 'busybox', command: ['true'] }],
  additionalVolumes: [
    { name: 'cfg', mountPath: '/cfg', targetContainers: ['all'], volumeSource: { configMap: { name: 'cfg' } } },
    { name: 'scratch', mountPath: '/scratch', subPath: 'a', volumeSource: { emptyDir: { sizeLimit: '1Gi' } } },
  ],
  tolerations: [{ key: 'postgres', operator: 'Exists', effect: 'NoSchedule' }],
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }],
    },
  },
  topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' }],
  podAnnotations: { 'example.com/a': 'b' },
  spiloRunAsUser: 101,
  spiloFSGroup: 103,
  env: [{ name: 'CUSTOM', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } }],
  envFrom: [{ configMapRef: { name: 'extra-env' } }],
  livenessProbe: { httpGet: { path: '/liveness', port: 8008 }, failureThreshold: 6 },
  schedulerName: 'default-scheduler',
};

const cases: Case[] = [
  { name: 'a default cluster', spec: {}, config: {} },
  {
    name: 'a cluster using every pod-template feature',
    spec: everything,
    config: {
      enableReadinessProbe: true,
      enablePodAntiaffinity: true,
      podAntiaffinityPreferredDuringScheduling: true,
      nodeReadinessLabel: { ready: 'true' },
      sharePgsocketWithSidecars: true,
      additionalSecretMount: 'aws-creds',
      additionalSecretMountPath: '/meta/credentials',
      sidecars: [{ name: 'global', image: 'global:1' }],
      additionalPodCapabilities: ['sys_nice'],
      podManagementPolicy: 'parallel',
      persistentVolumeClaimRetentionPolicy: { when_deleted: 'delete', when_scaled: 'retain' },
      walS3Bucket: 'wal',
      kubeIamRole: 'role',
      inheritedAnnotations: ['owner'],
    },
  },
];

describe('StatefulSet round trip through the API server', function () {
  this.timeout(120_000);
  let kc: k8s.KubeConfig;
  let objects: k8s.KubernetesObjectApi;
  let apps: k8s.AppsV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };

  before(async () => {
    kc = adminConfig();
    objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    ns = await createNamespace(kc, 'builder-roundtrip');
  });
  after(async () => ns?.cleanup());

  const desiredFor = (tc: Case, name: string): k8s.V1StatefulSet =>
    buildStatefulSet(makeCluster(tc.spec, { name, namespace: ns.name, annotations: { owner: 'team-a' } }), makeConfig(tc.config));

  cases.forEach((tc, i) => {
    it(`finds no difference after creating ${tc.name}`, async () => {
      const desired = desiredFor(tc, `create-${i}`);
      await apps.createNamespacedStatefulSet({ namespace: ns.name, body: desired });
      const live = await apps.readNamespacedStatefulSet({ name: `create-${i}`, namespace: ns.name });
      // The server did fill in defaults and status, which a field-by-field diff would trip over.
      expect(live.spec?.template.spec?.dnsPolicy).to.equal('ClusterFirst');
      expect(live.spec?.volumeClaimTemplates?.[0]?.status).to.deep.equal({ phase: 'Pending' });
      expect(compareStatefulSet(live, desiredFor(tc, `create-${i}`))).to.deep.equal({ action: 'none', reasons: [] });
    });

    it(`finds no difference after server-side applying ${tc.name}, and only a patch after scaling`, async () => {
      const name = `apply-${i}`;
      await objects.patch(desiredFor(tc, name), undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
      const live = await apps.readNamespacedStatefulSet({ name, namespace: ns.name });
      expect(compareStatefulSet(live, desiredFor(tc, name))).to.deep.equal({ action: 'none', reasons: [] });

      const scaled = buildStatefulSet(
        makeCluster({ ...tc.spec, numberOfInstances: 5 }, { name, namespace: ns.name, annotations: { owner: 'team-a' } }),
        makeConfig(tc.config),
      );
      expect(compareStatefulSet(live, scaled).action).to.equal('patch');
      await objects.patch(scaled, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
      const after = await apps.readNamespacedStatefulSet({ name, namespace: ns.name });
      expect(compareStatefulSet(after, scaled)).to.deep.equal({ action: 'none', reasons: [] });
    });
  });
});
