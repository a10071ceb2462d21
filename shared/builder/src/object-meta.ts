// metadata of the objects built for a cluster: name, namespace, labels, the annotations upstream's
// annotationsSet gives (the given ones plus config inherited_annotations taken from the CR) and the
// owner references (upstream ownerReferences). Optional fields are left out rather than empty, so
// server-side apply never claims an empty map.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { clusterNamespace } from './inputs.js';
import { objectAnnotations } from './labels.js';
import { ownerReferences } from './owner.js';

export interface MetaParts {
  readonly name: string;
  /** Defaults to the cluster's namespace. */
  readonly namespace?: string;
  readonly labels: Record<string, string>;
  /** Annotations before the inherited ones are added. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** False for objects that may not point at the CR, e.g. Secrets in another namespace. */
  readonly owned?: boolean;
}

export function clusterObjectMeta(cluster: Postgresql, config: OperatorConfig, parts: MetaParts): V1ObjectMeta {
  const meta: V1ObjectMeta = {
    name: parts.name,
    namespace: parts.namespace ?? clusterNamespace(cluster),
    labels: parts.labels,
  };
  const annotations = objectAnnotations(cluster, config, parts.annotations);
  if (annotations !== undefined) meta.annotations = annotations;
  const owners = parts.owned === false ? undefined : ownerReferences(cluster, config);
  if (owners !== undefined) meta.ownerReferences = owners;
  return meta;
}

/** Annotations of the cluster's pods: config custom_pod_annotations, overridden by spec.podAnnotations. */
export function clusterPodAnnotations(cluster: Postgresql, config: OperatorConfig): Record<string, string> {
  return { ...config.customPodAnnotations, ...(cluster.spec.podAnnotations ?? {}) };
}
