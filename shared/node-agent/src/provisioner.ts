// A local-volume provisioner, because kube-controller-manager binds nothing without one. A Pending
// claim gets a `local` PersistentVolume on this node, pre-bound to it (claimRef), whose directory is
// <dataDir>/<namespace>/<claim>. Served claims: those without a storage class (bound at once, which
// also pins their pods to this node through the PV's node affinity, so only once a pod that uses the
// claim exists and may run on this node: a claim of a pod meant for another node — a kwok pod beside a
// test's agent — is left to that node's provisioner; ADR 0142) and those of our StorageClass
// (WaitForFirstConsumer: once the scheduler selected this node). A released PV loses its directory
// and is deleted, so data lives exactly as long as its claim.
// It is also the class's volume resizer (the part an external-resizer sidecar plays for a CSI
// driver): the StorageClass allows expansion, and when a bound claim asks for more than its PV holds,
// the PV's capacity and then the claim's status.capacity grow to the request. A local directory has
// no size of its own, so growing is bookkeeping only — but it is the bookkeeping Kubernetes and the
// operator look at. Shrinking is refused by the API server itself.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  StorageV1Api,
  type KubeConfig,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1StorageClass,
} from '@kubernetes/client-node';
import { statusCode } from '@pgfn/kube';
import { parseQuantity } from './quantity.js';
import { startInformer, type Informer } from './informer.js';
import { claimsOf, podFitsNode } from './node-fit.js';

export const PROVISIONER_NAME = 'pgfn.dev/node-agent';
const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const SELECTED_NODE = 'volume.kubernetes.io/selected-node';
/** The node whose agent provisioned a PV (and deletes it once released). */
const PROVISIONED_ON = 'pgfn.dev/provisioned-on';
/**
 * A second class whose volumes are not pinned to a node (ADR 0075): every local node is this machine, so
 * a directory is reachable from all of them, like a network volume; pods with such claims can move.
 */
export const SHARED_STORAGE_CLASS = 'pgfn-shared';

export interface ProvisionerOptions {
  readonly nodeName: string;
  readonly dataDir: string;
  readonly storageClassName: string;
  /** Mark the class as the cluster's default. */
  readonly defaultClass?: boolean;
  /** Serve claims without a class (default true); one node of several does. */
  readonly serveClaimsWithoutClass?: boolean;
  readonly log: (message: string) => void;
}

/** The host directory of a claim's data. */
export function claimDir(dataDir: string, namespace: string, claim: string): string {
  return join(dataDir, namespace, claim);
}

const DEFAULT_CLASS = 'storageclass.kubernetes.io/is-default-class';

export function storageClass(name: string, defaultClass = false): V1StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name,
      labels: { 'app.kubernetes.io/managed-by': 'pgfn-node-agent' },
      ...(defaultClass ? { annotations: { [DEFAULT_CLASS]: 'true' } } : {}),
    },
    provisioner: PROVISIONER_NAME,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
    allowVolumeExpansion: true,
  };
}

/** What growing a bound claim needs: the PV's new capacity and/or the claim's new status.capacity. */
export interface ResizeNeed {
  readonly volume?: string;
  readonly claimStatus?: string;
}

/**
 * Whether `pvc`, bound to our `pv`, asks for more than it has: the PV grows first (the "controller"
 * part of an expansion), then the claim's status records it (there is no file system to grow).
 */
export function resizeNeed(pvc: V1PersistentVolumeClaim, pv: V1PersistentVolume | undefined): ResizeNeed | undefined {
  const requested = pvc.spec?.resources?.requests?.['storage'];
  if (pv === undefined || requested === undefined || pvc.status?.phase !== 'Bound') return undefined;
  if (pv.metadata?.annotations?.[PROVISIONED_BY] !== PROVISIONER_NAME || pv.spec?.claimRef?.uid !== pvc.metadata?.uid) return undefined;
  const want = parseQuantity(requested);
  const volume = parseQuantity(pv.spec?.capacity?.['storage'] ?? '0');
  const claim = parseQuantity(pvc.status?.capacity?.['storage'] ?? '0');
  const need: { volume?: string; claimStatus?: string } = {};
  if (want > volume) need.volume = requested;
  if (want > claim) need.claimStatus = requested;
  return need.volume === undefined && need.claimStatus === undefined ? undefined : need;
}

/** Whether this node should provision `pvc` now. */
export function shouldProvision(
  pvc: V1PersistentVolumeClaim,
  o: Pick<ProvisionerOptions, 'nodeName' | 'storageClassName' | 'serveClaimsWithoutClass'>,
): boolean {
  if (pvc.spec?.storageClassName === SHARED_STORAGE_CLASS)
    return shouldProvision({ ...pvc, spec: { ...pvc.spec, storageClassName: o.storageClassName } }, o);
  if (pvc.metadata?.deletionTimestamp !== undefined || (pvc.spec?.volumeName ?? '') !== '') return false;
  if (pvc.status?.phase !== undefined && pvc.status.phase !== 'Pending') return false;
  const cls = pvc.spec?.storageClassName ?? '';
  if (cls === '') return o.serveClaimsWithoutClass !== false;
  return cls === o.storageClassName && pvc.metadata?.annotations?.[SELECTED_NODE] === o.nodeName;
}

export function persistentVolumeFor(pvc: V1PersistentVolumeClaim, o: Pick<ProvisionerOptions, 'nodeName' | 'dataDir'>): V1PersistentVolume {
  const namespace = pvc.metadata?.namespace ?? 'default';
  const name = pvc.metadata?.name ?? '';
  const storage = pvc.spec?.resources?.requests?.['storage'] ?? '1Gi';
  const volume: V1PersistentVolume = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name: `pvc-${pvc.metadata?.uid ?? name}`,
      annotations: { [PROVISIONED_BY]: PROVISIONER_NAME, [PROVISIONED_ON]: o.nodeName },
    },
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
  if (pvc.spec?.storageClassName === SHARED_STORAGE_CLASS && volume.spec !== undefined) {
    // Reachable from every local node: a host path without node affinity.
    volume.spec.hostPath = { path: claimDir(o.dataDir, namespace, name), type: 'Directory' };
    delete volume.spec.local;
    delete volume.spec.nodeAffinity;
  }
  return volume;
}

export class LocalProvisioner {
  private readonly core: CoreV1Api;
  private readonly storage: StorageV1Api;
  private claims: Informer<V1PersistentVolumeClaim> | undefined;
  private volumes: Informer<V1PersistentVolume> | undefined;
  /** Pods not yet scheduled: the consumers a claim without a class waits for. */
  private unscheduled: Informer<V1Pod> | undefined;
  private readonly busy = new Set<string>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly o: ProvisionerOptions,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.storage = kc.makeApiClient(StorageV1Api);
  }

  async start(): Promise<void> {
    await this.storage
      .createStorageClass({ body: storageClass(this.o.storageClassName, this.o.defaultClass) })
      .catch(async (err: unknown) => {
        if (statusCode(err) !== 409) throw new Error(`creating StorageClass ${this.o.storageClassName}`, { cause: err });
        // A class left by an older agent: expansion is the one field a StorageClass may change.
        await this.storage.patchStorageClass(
          { name: this.o.storageClassName, body: { allowVolumeExpansion: true } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      });
    await this.storage.createStorageClass({ body: storageClass(SHARED_STORAGE_CLASS) }).catch((err: unknown) => {
      if (statusCode(err) !== 409) throw new Error(`creating StorageClass ${SHARED_STORAGE_CLASS}`, { cause: err });
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
    this.unscheduled = startInformer<V1Pod>(
      this.kc,
      '/api/v1/pods',
      () => this.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=' }),
      { onChange: (p) => this.consumerChanged(p), onDelete: () => undefined, onError, fieldSelector: 'spec.nodeName=' },
    );
    await Promise.all([this.claims.synced, this.volumes.synced, this.unscheduled.synced]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.claims?.stop(), this.volumes?.stop(), this.unscheduled?.stop()]);
  }

  /** A pod waiting to be scheduled: its claims may be ours to serve now. */
  private consumerChanged(pod: V1Pod): void {
    const namespace = pod.metadata?.namespace ?? '';
    for (const name of claimsOf(pod)) {
      const pvc = this.claims?.cache.get(name, namespace);
      if (pvc !== undefined) void this.claim(pvc);
    }
  }

  /** Whether a pod that uses the claim waits to be scheduled and may run on this node. */
  private async consumerFitsHere(pvc: V1PersistentVolumeClaim): Promise<boolean> {
    const namespace = pvc.metadata?.namespace ?? '';
    const consumers = (this.unscheduled?.cache.list(namespace) ?? []).filter((p) => claimsOf(p).includes(pvc.metadata?.name ?? ''));
    if (consumers.length === 0) return false;
    const node = await this.core.readNode({ name: this.o.nodeName });
    return consumers.some((p) => podFitsNode(p, { name: this.o.nodeName, labels: node.metadata?.labels ?? {} }));
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
    if (this.busy.has(key)) return;
    const bound = this.volumes?.cache.get(pvc.spec?.volumeName ?? '');
    const need = resizeNeed(pvc, bound);
    if (need !== undefined) return this.resize(pvc, bound?.metadata?.name ?? '', need);
    if (!shouldProvision(pvc, this.o)) return;
    const pv = persistentVolumeFor(pvc, this.o);
    if (this.volumes?.cache.get(pv.metadata?.name ?? '') !== undefined) return;
    this.busy.add(key);
    try {
      if ((pvc.spec?.storageClassName ?? '') === '' && !(await this.consumerFitsHere(pvc))) return;
      const dir = (pv.spec?.local?.path ?? pv.spec?.hostPath?.path) as string;
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

  private async resize(pvc: V1PersistentVolumeClaim, volumeName: string, need: ResizeNeed): Promise<void> {
    const key = pvc.metadata?.uid ?? '';
    const claim = `${pvc.metadata?.namespace}/${pvc.metadata?.name}`;
    this.busy.add(key);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    try {
      if (need.volume !== undefined)
        await this.core.patchPersistentVolume({ name: volumeName, body: { spec: { capacity: { storage: need.volume } } } }, merge);
      if (need.claimStatus !== undefined) {
        const storage = need.claimStatus;
        // What an external resizer reports when it is done: capacity and allocation at the request, no resize in progress.
        const status = { capacity: { storage }, allocatedResources: { storage }, allocatedResourceStatuses: null, conditions: null };
        await this.core.patchNamespacedPersistentVolumeClaimStatus(
          { name: pvc.metadata?.name ?? '', namespace: pvc.metadata?.namespace ?? '', body: { status } },
          merge,
        );
      }
      this.o.log(`resized ${volumeName} and claim ${claim} to ${need.claimStatus ?? need.volume ?? ''}`);
    } catch (err) {
      this.o.log(`resizing claim ${claim} failed: ${(err as Error).message}`);
    } finally {
      this.busy.delete(key);
    }
  }

  private async volume(pv: V1PersistentVolume): Promise<void> {
    const ours = pv.metadata?.annotations?.[PROVISIONED_BY] === PROVISIONER_NAME;
    const affinity = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values?.[0];
    const on = pv.metadata?.annotations?.[PROVISIONED_ON] ?? affinity;
    if (!ours || on !== this.o.nodeName || pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
    const name = pv.metadata?.name ?? '';
    if (this.busy.has(name)) return;
    this.busy.add(name);
    try {
      const dir = pv.spec?.local?.path ?? pv.spec?.hostPath?.path;
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
