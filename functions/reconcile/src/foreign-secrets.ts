import type { KubernetesObject } from '@kubernetes/client-node';
import type { OperatorConfig } from '@pgfn/api';
import { credentialSecretName, desiredUsers, needsSecret } from '@pgfn/builder';
import type { KubeClient } from '@pgfn/kube';
import { labelSelector, type Cluster, type LiveState } from './live-state.js';

/** A credentials Secret a cluster keeps outside its namespace (`<namespace>.user`, enable_cross_namespace_secret). */
export interface ForeignSecretRef {
  readonly namespace: string;
  readonly name: string;
}

/** The Secrets of a cluster's roles that live in another namespace than the cluster's. */
export function foreignSecretRefs(cluster: Cluster, config: OperatorConfig): ForeignSecretRef[] {
  if (!config.enableCrossNamespaceSecret) return [];
  const home = cluster.metadata?.namespace ?? '';
  return desiredUsers(cluster, config)
    .filter((u) => needsSecret(u) && u.namespace !== home)
    .map((u) => ({ namespace: u.namespace, name: credentialSecretName(cluster, config, u.name) }));
}

/**
 * One labelled list of Secrets per other namespace the batch's clusters keep credentials in, so a
 * resync sees them as it sees the Secrets of the cluster's own namespace. Only the Secrets a cluster
 * names are returned for it: a cluster of the same name in that namespace has Secrets with the same
 * label, and they are not this cluster's.
 */
export async function readForeignSecrets(
  kube: KubeClient,
  batch: {
    readonly labelKey: string;
    readonly clusters: readonly { readonly label: string; readonly refs: readonly ForeignSecretRef[] }[];
  },
): Promise<Map<string, KubernetesObject[]>> {
  const labelsByNamespace = new Map<string, Set<string>>();
  for (const { label, refs } of batch.clusters) {
    for (const ref of refs) labelsByNamespace.set(ref.namespace, (labelsByNamespace.get(ref.namespace) ?? new Set()).add(label));
  }
  const listed = await Promise.all(
    [...labelsByNamespace].map(([namespace, labels]) =>
      kube
        .list('v1', 'Secret', namespace, labelSelector(batch.labelKey, [...labels]))
        .then((items) => items.map((o): KubernetesObject => ({ ...o, apiVersion: 'v1', kind: 'Secret' }))),
    ),
  );
  const byKey = new Map(listed.flat().map((o) => [`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, o]));
  const out = new Map<string, KubernetesObject[]>();
  for (const { label, refs } of batch.clusters) {
    const found = refs.map((r) => byKey.get(`${r.namespace}/${r.name}`)).filter((o): o is KubernetesObject => o !== undefined);
    if (found.length > 0) out.set(label, [...(out.get(label) ?? []), ...found]);
  }
  return out;
}

/** The batch's live state with each cluster's Secrets in other namespaces among its own objects. */
export function withForeignSecrets(live: LiveState, foreign: ReadonlyMap<string, readonly KubernetesObject[]>): LiveState {
  if (foreign.size === 0) return live;
  const owned = new Map(live.owned);
  for (const [label, secrets] of foreign) owned.set(label, [...(owned.get(label) ?? []), ...secrets]);
  return { ...live, owned };
}
