// Identities of built objects, and which objects a cluster may have that must go when the builder no
// longer returns them. Pruning is limited to objects the builder can name from the manifest alone and
// that upstream deletes too (pooler objects when a pooler is switched off, the backup CronJob when
// logical backups are). User Secrets are never pruned: upstream keeps them when a role leaves the
// manifest, and deleting one would lose its password. Patroni's Endpoints and ConfigMaps are not ours.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { clusterNamespace } from './inputs.js';
import type { PostgresRole } from './labels.js';
import { logicalBackupJobName, poolerName } from './names.js';
import { poolerAuthSecretName } from './pooler.js';
import { poolerUser } from './pooler-settings.js';
import { credentialSecretName } from './secrets.js';

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export function objectRef(obj: KubernetesObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion ?? '',
    kind: obj.kind ?? '',
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
  };
}

/** "Kind/namespace/name": unique among one cluster's objects. */
export function objectKey(ref: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

export function desiredObjectKeys(objects: readonly KubernetesObject[]): Set<string> {
  return new Set(objects.map((o) => objectKey(objectRef(o))));
}

/** Every object of this cluster that may have to be deleted when it is not desired. */
export function prunableObjectRefs(cluster: Postgresql, config: OperatorConfig): ObjectRef[] {
  const namespace = clusterNamespace(cluster);
  const refs: ObjectRef[] = [];
  for (const role of ['master', 'replica'] as PostgresRole[]) {
    const name = poolerName(cluster, role);
    refs.push(
      { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name },
      { apiVersion: 'v1', kind: 'Service', namespace, name },
      { apiVersion: 'v1', kind: 'Secret', namespace, name: poolerAuthSecretName(cluster, role) },
    );
  }
  refs.push({ apiVersion: 'v1', kind: 'Secret', namespace, name: credentialSecretName(cluster, config, poolerUser(cluster.spec, config)) });
  refs.push({ apiVersion: 'batch/v1', kind: 'CronJob', namespace, name: logicalBackupJobName(cluster, config) });
  return refs;
}

/** The prunable objects the builder did not return this time: delete them if they exist. */
export function objectsToPrune(cluster: Postgresql, config: OperatorConfig, desired: readonly KubernetesObject[]): ObjectRef[] {
  const keep = desiredObjectKeys(desired);
  return prunableObjectRefs(cluster, config).filter((ref) => !keep.has(objectKey(ref)));
}
