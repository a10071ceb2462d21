// A local-volume provisioner, because kube-controller-manager binds nothing without one. A Pending
// claim gets a `local` PersistentVolume on this node, pre-bound to it (claimRef), whose directory is
// <dataDir>/<namespace>/<claim>. Served claims: those without a storage class (bound at once, which
// also pins their pods to this node through the PV's node affinity) and those of our StorageClass
// (WaitForFirstConsumer: once the scheduler selected this node). A released PV loses its directory
// and is deleted, so data lives exactly as long as its claim.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoreV1Api,
  StorageV1Api,
  type KubeConfig,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1StorageClass,
} from '@kubernetes/client-node';
import { statusCode } from '@pgfn/kube';
import { startInformer, type Informer } from './informer.js';

export const PROVISIONER_NAME = 'pgfn.dev/node-agent';
const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const SELECTED_NODE = 'volume.kubernetes.io/selected-node';

export interface ProvisionerOptions {
  readonly nodeName: string;
  readonly dataDir: string;
  readonly storageClassName: string;
  readonly log: (message: string) => void;
}

/** The host directory of a claim's data. */
export function claimDir(dataDir: string, namespace: string, claim: string): string {
  return join(dataDir, namespace, claim);
}

export function storageClass(name: string): V1StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'pgfn-node-agent' } },
    provisioner: PROVISIONER_NAME,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  };
}

/** Whether this node should provision `pvc` now. */
export function shouldProvision(pvc: V1PersistentVolumeClaim, o: Pick<ProvisionerOptions, 'nodeName' | 'storageClassName'>): boolean {
  if (pvc.metadata?.deletionTimestamp !== undefined || (pvc.spec?.volumeName ?? '') !== '') return false;
  if (pvc.status?.phase !== undefined && pvc.status.phase !== 'Pending') return false;
  const cls = pvc.spec?.storageClassName ?? '';
  if (cls === '') return true;
  return cls === o.storageClassName && pvc.metadata?.annotations?.[SELECTED_NODE] === o.nodeName;
}

export function persistentVolumeFor(pvc: V1PersistentVolumeClaim, o: Pick<ProvisionerOptions, 'nodeName' | 'dataDir'>): V1PersistentVolume {
  const namespace = pvc.metadata?.namespace ?? 'default';
  const name = pvc.metadata?.name ?? '';
  const storage = pvc.spec?.resources?.requests?.['storage'] ?? '1Gi';
  const volume: V1PersistentVolume = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `pvc-${pvc.metadata?.uid ?? name}`, annotations: { [PROVISIONED_BY]: PROVISIONER_NAME } },
    spec: {
      capacity: { storage },
      accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
      local: { path: claimDir(o.dataDir, namespace, name) },
      nodeAffinity: {
        required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [o.nodeName] }] }] },
      },
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name, uid: pvc.metadata?.uid ?? '' },
    },
  };
  if ((pvc.spec?.storageClassName ?? '') !== '' && volume.spec !== undefined)
    volume.spec.storageClassName = pvc.spec?.storageClassName ?? '';
  return volume;
}

export class LocalProvisioner {
  private readonly core: CoreV1Api;
  private readonly storage: StorageV1Api;
  private claims: Informer<V1PersistentVolumeClaim> | undefined;
  private volumes: Informer<V1PersistentVolume> | undefined;
  private readonly busy = new Set<string>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly o: ProvisionerOptions,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.storage = kc.makeApiClient(StorageV1Api);
  }

  async start(): Promise<void> {
    await this.storage.createStorageClass({ body: storageClass(this.o.storageClassName) }).catch((err: unknown) => {
      if (statusCode(err) !== 409) throw new Error(`creating StorageClass ${this.o.storageClassName}`, { cause: err });
    });
    const onError = (err: unknown): void => this.o.log(`provisioner watch: ${(err as Error).message}`);
    this.claims = startInformer<V1PersistentVolumeClaim>(
      this.kc,
      '/api/v1/persistentvolumeclaims',
      () => this.core.listPersistentVolumeClaimForAllNamespaces(),
      { onChange: (c) => void this.claim(c), onDelete: () => undefined, onError },
    );
    this.volumes = startInformer<V1PersistentVolume>(this.kc, '/api/v1/persistentvolumes', () => this.core.listPersistentVolume(), {
      onChange: (v) => void this.volume(v),
      onDelete: () => undefined,
      onError,
    });
    await Promise.all([this.claims.synced, this.volumes.synced]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.claims?.stop(), this.volumes?.stop()]);
  }

  /** Host directory of the PV bound to `claim`, or undefined while it is not bound to one of ours. */
  claimPath(namespace: string, claim: string): string | undefined {
    const pvc = this.claims?.cache.get(claim, namespace);
    const volumeName = pvc?.spec?.volumeName;
    if (volumeName === undefined || volumeName === '') return undefined;
    const pv = this.volumes?.cache.get(volumeName);
    return pv?.spec?.local?.path ?? pv?.spec?.hostPath?.path;
  }

  private async claim(pvc: V1PersistentVolumeClaim): Promise<void> {
    const key = pvc.metadata?.uid ?? '';
    if (!shouldProvision(pvc, this.o) || this.busy.has(key)) return;
    const pv = persistentVolumeFor(pvc, this.o);
    if (this.volumes?.cache.get(pv.metadata?.name ?? '') !== undefined) return;
    this.busy.add(key);
    try {
      const dir = pv.spec?.local?.path as string;
      // A new claim starts empty, even if an older claim of the same name left a directory behind.
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      await this.core.createPersistentVolume({ body: pv });
      this.o.log(`provisioned ${pv.metadata?.name} at ${dir} for claim ${pvc.metadata?.namespace}/${pvc.metadata?.name}`);
    } catch (err) {
      if (statusCode(err) !== 409)
        this.o.log(`provisioning for claim ${pvc.metadata?.namespace}/${pvc.metadata?.name} failed: ${(err as Error).message}`);
    } finally {
      this.busy.delete(key);
    }
  }

  private async volume(pv: V1PersistentVolume): Promise<void> {
    const ours = pv.metadata?.annotations?.[PROVISIONED_BY] === PROVISIONER_NAME;
    const affinity = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values?.[0];
    if (!ours || affinity !== this.o.nodeName || pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete')
      return;
    const name = pv.metadata?.name ?? '';
    if (this.busy.has(name)) return;
    this.busy.add(name);
    try {
      const dir = pv.spec?.local?.path;
      if (dir !== undefined && dir.startsWith(this.o.dataDir)) rmSync(dir, { recursive: true, force: true });
      await this.core.deletePersistentVolume({ name });
      this.o.log(`released ${name}: removed ${dir ?? '(no path)'}`);
    } catch (err) {
      if (statusCode(err) !== 404) this.o.log(`deleting released ${name} failed: ${(err as Error).message}`);
    } finally {
      this.busy.delete(name);
    }
  }
}
