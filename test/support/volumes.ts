import * as k8s from '@kubernetes/client-node';
import { describePods } from './kube.js';

/**
 * Plays a volume provisioner for kwok pods: every unbound PVC in `namespace` gets a hostPath PV
 * pre-bound to it (claimRef), which kube-controller-manager's PV controller then binds for real.
 * The path is never used: kwok runs nothing behind its pods. Returns how many PVs it made.
 */
export async function provisionVolumes(kc: k8s.KubeConfig, namespace: string): Promise<number> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace })).items.filter(
    (c) => c.spec?.volumeName === undefined || c.spec.volumeName === '',
  );
  let made = 0;
  for (const claim of claims) {
    const name = `pv-${namespace}-${claim.metadata?.name ?? ''}`.slice(0, 253);
    const pv: k8s.V1PersistentVolume = {
      metadata: { name, labels: { 'pgfn.dev/test-volume': 'true' } },
      spec: {
        capacity: { storage: claim.spec?.resources?.requests?.['storage'] ?? '1Gi' },
        accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
        storageClassName: claim.spec?.storageClassName ?? '',
        persistentVolumeReclaimPolicy: 'Delete',
        hostPath: { path: `/tmp/pgfn-test-volumes/${name}` },
        claimRef: { namespace, name: claim.metadata?.name, uid: claim.metadata?.uid },
      },
    };
    await core.createPersistentVolume({ body: pv }).then(
      () => {
        made++;
      },
      (err: unknown) => {
        if ((err as { code?: number }).code !== 409) throw err;
      },
    );
  }
  return made;
}

/**
 * One poll of a wait for `count` Running kwok pods: binds their claims (provisionVolumes), then true when
 * all run; otherwise throws why not (describePods), which becomes the wait's timeout message.
 */
export async function kwokPodsRunning(kc: k8s.KubeConfig, namespace: string, labelSelector: string, count: number): Promise<true> {
  await provisionVolumes(kc, namespace);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items;
  if (pods.length === count && pods.every((p) => p.status?.phase === 'Running')) return true;
  throw new Error(describePods(pods, (await core.listNamespacedPersistentVolumeClaim({ namespace })).items));
}
