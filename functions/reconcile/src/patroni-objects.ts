import type { KubernetesObject } from '@kubernetes/client-node';
import type { OperatorConfig } from '@pgfn/api';
import { objectAnnotations, ownerReferences, patroniUsesConfigMaps } from '@pgfn/builder';
import type { Logger } from '@pgfn/fn-runtime';
import type { KubeClient } from '@pgfn/kube';
import type { Cluster } from './live-state.js';

/** Patroni's own objects besides the master Endpoints (upstream patroniObjectSuffixes). */
const PATRONI_SUFFIXES = ['leader', 'config', 'sync', 'failover'] as const;

/**
 * The objects Patroni creates for a cluster and the operator adopts (upstream syncPatroniResources:
 * the `<cluster>-config` Service, and per suffix an Endpoints or, in ConfigMaps mode, a ConfigMap).
 */
export function patroniObjectKeys(
  cluster: Cluster,
  config: OperatorConfig,
): { kind: 'Service' | 'Endpoints' | 'ConfigMap'; name: string }[] {
  const name = cluster.metadata?.name ?? '';
  const kind: 'ConfigMap' | 'Endpoints' = patroniUsesConfigMaps(config) ? 'ConfigMap' : 'Endpoints';
  return [{ kind: 'Service', name: `${name}-config` }, ...PATRONI_SUFFIXES.map((s) => ({ kind, name: `${name}-${s}` }))];
}

/**
 * Pure: what an existing Patroni object needs so the operator owns it as upstream does — the
 * cluster's owner references (with enable_owner_references) and its inherited annotations, Patroni's
 * own annotations kept. Undefined when it has them already.
 */
export function adoption(live: KubernetesObject, cluster: Cluster, config: OperatorConfig): KubernetesObject | undefined {
  const owners = ownerReferences(cluster, config) ?? [];
  const annotations = objectAnnotations(cluster, config) ?? {};
  const have = live.metadata?.ownerReferences ?? [];
  const ownersMatch =
    owners.length === have.length && owners.every((o) => have.some((h) => h.uid === o.uid && h.controller === o.controller));
  const annotationsMatch = Object.entries(annotations).every(([k, v]) => live.metadata?.annotations?.[k] === v);
  if (ownersMatch && annotationsMatch) return undefined;
  return {
    apiVersion: live.apiVersion ?? 'v1',
    kind: live.kind ?? '',
    metadata: {
      name: live.metadata?.name ?? '',
      namespace: live.metadata?.namespace ?? '',
      ...(owners.length > 0 ? { ownerReferences: owners } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
  };
}

/**
 * Gives Patroni's objects that exist the cluster's owner references and inherited annotations (server-
 * side apply of those fields alone; Patroni creates the objects, we never do). Nothing to do, and
 * nothing read, unless enable_owner_references or inherited_annotations ask for it. Services and
 * Endpoints come from the batch's lists; ConfigMaps are read by name.
 */
export async function adoptPatroniObjects(
  kube: KubeClient,
  target: { readonly cluster: Cluster; readonly config: OperatorConfig; readonly owned: readonly KubernetesObject[]; readonly log: Logger },
): Promise<number> {
  const { cluster, config, owned, log } = target;
  if (!config.enableOwnerReferences && config.inheritedAnnotations.length === 0) return 0;
  const namespace = cluster.metadata?.namespace ?? '';
  const found = await Promise.all(
    patroniObjectKeys(cluster, config).map(({ kind, name }) =>
      kind === 'ConfigMap'
        ? kube
            .get({ apiVersion: 'v1', kind, namespace, name })
            .then((o) => (o === undefined ? undefined : { ...o, apiVersion: 'v1', kind }))
        : Promise.resolve(owned.find((o) => o.kind === kind && o.metadata?.name === name)),
    ),
  );
  let written = 0;
  for (const live of found) {
    const patch = live === undefined ? undefined : adoption(live, cluster, config);
    if (patch === undefined) continue;
    // kube-kinds: v1/Service v1/Endpoints v1/ConfigMap
    await kube.apply(patch);
    written++;
    log.info({ kind: patch.kind, name: patch.metadata?.name }, "adopted Patroni's object");
  }
  return written;
}
