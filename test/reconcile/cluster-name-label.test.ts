// Reconcile under a non-default cluster_name_label and pod_role_label: pod events name their cluster
// by the configured label, so the status follows them at once instead of waiting for the resync
// (before, the triage read the hard-coded `cluster-name` and ignored these events).
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { provisionVolumes } from '../support/volumes.js';
import { example, labelLikePatroni, onKwok, podEvent, resourceEvent, startReconcile, type RunningReconcile } from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const LABELS = { clusterName: 'pgfn.test/cluster', role: 'pgfn.test/role' };

describe('reconcile: a non-default cluster_name_label', function () {
  this.timeout(180_000);
  let kc: k8s.KubeConfig;
  let custom: k8s.CustomObjectsApi;
  let core: k8s.CoreV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };
  let fn: RunningReconcile;

  before(async () => {
    kc = adminConfig();
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    core = kc.makeApiClient(k8s.CoreV1Api);
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'reconcile-label');
    fn = await startReconcile(kc, ns.name, { ...DEFAULT_OPERATOR_CONFIG, clusterNameLabel: LABELS.clusterName, podRoleLabel: LABELS.role });
  });
  after(async () => {
    await fn.stop();
    await ns.cleanup();
  });

  const read = async (name: string): Promise<Cluster> =>
    (await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name })) as Cluster;

  it('refreshes the status from pod events that carry the configured label', async () => {
    const pg = (await custom.createNamespacedCustomObject({
      ...PG,
      namespace: ns.name,
      body: onKwok(example('minimal.yaml', ns.name, 'acid-label')),
    })) as Cluster;
    expect((await fn.post(resourceEvent('add', pg))).status).to.equal(200);
    expect((await read('acid-label')).status?.PostgresClusterStatus).to.equal('Creating');
    await eventually(
      '2 Running kwok pods carrying the configured cluster label',
      async () => {
        await provisionVolumes(kc, ns.name);
        const pods = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: `${LABELS.clusterName}=acid-label` })).items;
        return pods.length === 2 && pods.every((p) => p.status?.phase === 'Running') ? true : undefined;
      },
      // The second pod waits for the first to be Ready (OrderedReady): two rounds of scheduling, volume
      // and kwok; on two cores busy with a heavy test file beside this one that took over 60 s once.
      150_000,
      1000,
    );
    await labelLikePatroni(kc, ns.name, 'acid-label', LABELS);
    // A pod event with the default label is not about any cluster of this configuration.
    expect((await fn.post(podEvent(ns.name, 'acid-label'))).status).to.equal(202);
    await eventually(
      'status Running after a pod event (no resync)',
      async () => {
        const res = await fn.post(podEvent(ns.name, 'acid-label', 'acid-label-0', LABELS.clusterName));
        expect(res.status, 'the pod event is handled, not ignored').to.equal(200);
        const now = await read('acid-label');
        return now.status?.PostgresClusterStatus === 'Running' ? now : undefined;
      },
      // Generous: in a full run on two busy cores kwok's readiness updates can lag (seen once at 60 s).
      180_000,
      1000,
    );
  });
});
