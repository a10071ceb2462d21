// A per-cluster coordination.k8s.io Lease (until the function kit offers one): acquired by create or
// by a merge patch carrying the resourceVersion it read, so of two instances racing for a free or
// expired Lease exactly one wins (the other gets 409). Released by clearing the holder the same way.
// Invocations in one process share its identity, so the process also keeps the clusters it holds:
// a second concurrent invocation for the same cluster is busy, as another instance would be.
import type { V1Lease } from '@kubernetes/client-node';
import { RestClient, statusCode } from '@pgfn/kube';
import type { ClusterLease } from './deps.js';

export interface LeaseOptions {
  readonly identity: string;
  /** Long enough for the longest step (a switchover waits up to ~35 s for Patroni). */
  readonly durationSeconds: number;
  readonly now: () => Date;
}

const MERGE = 'application/merge-patch+json';

export function leaseName(cluster: string): string {
  return `pgfn-rolling-update-${cluster}`.slice(0, 253);
}

function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Whether a Lease held by someone else is still valid at `now`. */
export function heldByOther(lease: V1Lease, identity: string, now: Date): boolean {
  const holder = lease.spec?.holderIdentity ?? '';
  if (holder === '' || holder === identity) return false;
  const renewed = Date.parse(String(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? ''));
  const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  return Number.isFinite(renewed) && renewed + duration > now.getTime();
}

export function createClusterLease(rest: RestClient, o: LeaseOptions): ClusterLease {
  const path = (namespace: string, name?: string): string => {
    const leases = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
    return name === undefined ? leases : `${leases}/${encodeURIComponent(name)}`;
  };
  const read = async (namespace: string, name: string): Promise<V1Lease | undefined> =>
    (rest.request({ method: 'GET', path: path(namespace, name) }) as Promise<V1Lease>).catch((err: unknown) => {
      if (statusCode(err) === 404) return undefined;
      throw err;
    });
  const conflictIsFalse = (err: unknown): boolean => {
    if (statusCode(err) === 409) return false;
    throw err;
  };
  const held = new Set<string>();
  const take = async (namespace: string, cluster: string): Promise<boolean> => {
    const name = leaseName(cluster);
    const now = microTime(o.now());
    const spec = { holderIdentity: o.identity, leaseDurationSeconds: o.durationSeconds, acquireTime: now, renewTime: now };
    const lease = await read(namespace, name);
    if (lease === undefined) {
      const body = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec };
      return rest.request({ method: 'POST', path: path(namespace), body }).then(() => true, conflictIsFalse);
    }
    if (heldByOther(lease, o.identity, o.now())) return false;
    const body = { metadata: { resourceVersion: lease.metadata?.resourceVersion }, spec };
    return rest.request({ method: 'PATCH', path: path(namespace, name), body, contentType: MERGE }).then(() => true, conflictIsFalse);
  };
  return {
    async tryAcquire(namespace, cluster) {
      const key = `${namespace}/${cluster}`;
      if (held.has(key)) return false;
      held.add(key);
      const acquired = await take(namespace, cluster).catch((err: unknown) => {
        held.delete(key);
        throw err;
      });
      if (!acquired) held.delete(key);
      return acquired;
    },
    async release(namespace, cluster) {
      const name = leaseName(cluster);
      try {
        const lease = await read(namespace, name);
        if (lease?.spec?.holderIdentity !== o.identity) return;
        const body = { metadata: { resourceVersion: lease.metadata?.resourceVersion }, spec: { holderIdentity: null } };
        await rest.request({ method: 'PATCH', path: path(namespace, name), body, contentType: MERGE }).catch(conflictIsFalse);
      } finally {
        held.delete(`${namespace}/${cluster}`);
      }
    },
  };
}
