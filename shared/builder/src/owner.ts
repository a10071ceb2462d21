// Owner references of the objects built for a cluster (upstream ownerReferences, k8sres.go): the
// CR's own owner references are passed on, and with enable_owner_references the CR becomes the
// controlling owner, so deleting the CR lets the garbage collector remove its objects.
import type { V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND, type OperatorConfig, type Postgresql } from '@pgfn/api';

export function ownerReferences(
  cluster: Pick<Postgresql, 'metadata'>,
  config: Pick<OperatorConfig, 'enableOwnerReferences'>,
): V1OwnerReference[] | undefined {
  const current = structuredClone(cluster.metadata.ownerReferences ?? []);
  const uid = cluster.metadata.uid;
  const name = cluster.metadata.name;
  if (config.enableOwnerReferences && uid && name && !current.some((r) => r.uid === uid)) {
    current.push({ apiVersion: API_VERSION, kind: POSTGRESQL_KIND, name, uid, controller: true });
  }
  return current.length > 0 ? current : undefined;
}
