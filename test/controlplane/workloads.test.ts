import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { KWOK_NODE_NAME, KWOK_NODE_SELECTOR } from '@pgfn/controlplane';
import { adminConfig, createNamespace, describePods, eventually, statusOf } from '../support/kube.js';

const inKwokCidr = (ip: string | undefined): boolean => ip !== undefined && /^127\.0\.2\.\d+$/.test(ip);

describe('the test control plane: controllers, scheduler and kwok', () => {
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };
  before(async () => {
    kc = adminConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    ns = await createNamespace(kc, 'cp-sts');
  });
  after(async () => {
    await ns.cleanup();
  });

  const runningPods = async (): Promise<k8s.V1Pod[] | undefined> => {
    const pods = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=web' })).items;
    const live = pods.filter((p) => p.metadata?.deletionTimestamp === undefined);
    if (live.length === 3 && live.every((p) => p.status?.phase === 'Running' && inKwokCidr(p.status.podIP))) return live;
    // Becomes the wait's timeout message: which of the controllers, the scheduler or kwok is behind.
    const sts = await apps.readNamespacedStatefulSet({ namespace: ns.name, name: 'web' }).catch(() => undefined);
    throw new Error(`StatefulSet status ${JSON.stringify(sts?.status ?? null)}; ${describePods(pods, [])}`);
  };

  it('turns a 3-replica StatefulSet into 3 Running pods on the kwok node, with pod IPs', async () => {
    await apps.createNamespacedStatefulSet({
      namespace: ns.name,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 3,
          serviceName: 'web',
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { nodeSelector: { ...KWOK_NODE_SELECTOR }, containers: [{ name: 'c', image: 'example.invalid/none:1' }] },
          },
        },
      },
    });
    const pods = await eventually('3 Running pods', runningPods, 60_000);
    expect(pods.map((p) => p.metadata?.name).sort()).to.deep.equal(['web-0', 'web-1', 'web-2']);
    expect(pods.every((p) => p.spec?.nodeName === KWOK_NODE_NAME)).to.equal(true);
    expect(new Set(pods.map((p) => p.status?.podIP)).size).to.equal(3);
  });

  it('replaces a deleted pod with a new one', async () => {
    const before = await core.readNamespacedPod({ namespace: ns.name, name: 'web-1' });
    await core.deleteNamespacedPod({ namespace: ns.name, name: 'web-1' });
    const after = await eventually(
      'web-1 recreated and Running',
      async () => {
        const pod = await core.readNamespacedPod({ namespace: ns.name, name: 'web-1' });
        return pod.metadata?.uid !== before.metadata?.uid && pod.status?.phase === 'Running' ? pod : undefined;
      },
      60_000,
    );
    expect(after.metadata?.uid).to.not.equal(before.metadata?.uid);
  });

  it('garbage-collects pods and other dependents through ownerReferences', async () => {
    const sts = await apps.readNamespacedStatefulSet({ namespace: ns.name, name: 'web' });
    await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: {
        metadata: {
          name: 'web-owned',
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: sts.metadata?.uid ?? '' }],
        },
      },
    });
    await apps.deleteNamespacedStatefulSet({ namespace: ns.name, name: 'web', propagationPolicy: 'Background' });
    await eventually(
      'pods and the owned ConfigMap gone',
      async () => {
        const pods = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=web' })).items;
        const cm = await core.readNamespacedConfigMap({ namespace: ns.name, name: 'web-owned' }).then(() => 200, statusOf);
        return pods.length === 0 && cm === 404 ? true : undefined;
      },
      60_000,
    );
  });
});
