// Label and annotation keys, and the label/annotation sets of a cluster's objects.
// Semantics from upstream pkg/cluster/util.go (labelsSet, roleLabelsSet, annotationsSet),
// sync.go (AnnotationsToPropagate), resources.go (rolling-update annotation) and
// pkg/util/config/config.go (defaults).
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { clusterName, type NamedCluster } from './names.js';

/** Default of config cluster_labels. */
export const DEFAULT_CLUSTER_LABELS: Readonly<Record<string, string>> = Object.freeze({ application: 'spilo' });
export const APPLICATION_LABEL = 'application';
export const DEFAULT_CLUSTER_NAME_LABEL = 'cluster-name';
export const DEFAULT_POD_ROLE_LABEL = 'spilo-role';
export const TEAM_LABEL = 'team';
/** Set on pods during critical operations (major upgrade); selected by the critical-op PDB. */
export const CRITICAL_OPERATION_LABEL = 'critical-operation';
/** Upstream's per-pod marker that a pod still has to be rotated (kept for drop-in compatibility). */
export const ROLLING_UPDATE_REQUIRED_ANNOTATION = 'zalando-postgres-operator-rolling-update-required';
/**
 * Hash of the rotation-relevant part of the desired pod template, on the StatefulSet and its pod
 * template (so every pod carries the hash it was created from). A change means pods must be rotated.
 */
export const POD_TEMPLATE_HASH_ANNOTATION = 'pgfn.dev/pod-template-hash';
/**
 * Hash of the whole desired pod template, on the StatefulSet only. A change with an unchanged
 * POD_TEMPLATE_HASH_ANNOTATION means the StatefulSet needs a patch but pods need no rotation
 * (pod annotations, DCS-only Patroni settings, the image under lazy Spilo upgrade).
 */
export const POD_TEMPLATE_CONTENT_HASH_ANNOTATION = 'pgfn.dev/pod-template-content-hash';
/** Field manager for server-side apply. */
export const FIELD_MANAGER = 'pgfn';

export type PostgresRole = 'master' | 'replica';
export const MASTER_ROLE: PostgresRole = 'master';
export const REPLICA_ROLE: PostgresRole = 'replica';

/** The parts of a postgresql object labels depend on. */
export interface LabelledCluster extends NamedCluster {
  readonly spec: Pick<Postgresql['spec'], 'teamId'>;
}

/** The operator settings labels depend on. */
export type LabelConfig = Partial<
  Pick<
    OperatorConfig,
    'clusterLabels' | 'clusterNameLabel' | 'podRoleLabel' | 'inheritedLabels' | 'inheritedAnnotations' | 'downscalerAnnotations'
  >
>;

export function clusterNameLabelKey(config: LabelConfig): string {
  return config.clusterNameLabel || DEFAULT_CLUSTER_NAME_LABEL;
}

export function podRoleLabelKey(config: LabelConfig): string {
  return config.podRoleLabel || DEFAULT_POD_ROLE_LABEL;
}

/**
 * The selector labels: config cluster_labels plus `<cluster_name_label>: <cluster>`.
 * Never add more here: selectors of existing StatefulSets are immutable (upstream labelsSet(false)).
 */
export function clusterLabels(cluster: NamedCluster, config: LabelConfig): Record<string, string> {
  return { ...(config.clusterLabels ?? DEFAULT_CLUSTER_LABELS), [clusterNameLabelKey(config)]: clusterName(cluster) };
}

/** Labels of the CR copied to child objects because config inherited_labels names them. */
export function inheritedLabels(cluster: LabelledCluster, config: LabelConfig): Record<string, string> {
  return pickKeys(cluster.metadata?.labels, config.inheritedLabels);
}

/** Annotations of the CR copied to child objects because config inherited_annotations names them. */
export function inheritedAnnotations(cluster: LabelledCluster, config: LabelConfig): Record<string, string> {
  return pickKeys(cluster.metadata?.annotations, config.inheritedAnnotations);
}

/**
 * Labels of the objects the operator creates: selector labels, `team`, inherited labels
 * (upstream labelsSet(true)). The selector labels win over an inherited label of the same key.
 */
export function objectLabels(cluster: LabelledCluster, config: LabelConfig): Record<string, string> {
  return {
    ...clusterLabels(cluster, config),
    [TEAM_LABEL]: cluster.spec.teamId,
    ...withoutKeys(inheritedLabels(cluster, config), Object.keys(clusterLabels(cluster, config))),
  };
}

/** Selector labels plus the role label (Service and PDB selectors; upstream roleLabelsSet(false, role)). */
export function roleSelectorLabels(cluster: NamedCluster, config: LabelConfig, role: PostgresRole): Record<string, string> {
  return { ...clusterLabels(cluster, config), [podRoleLabelKey(config)]: role };
}

/** Object labels plus the role label (Service metadata; upstream roleLabelsSet(true, role)). */
export function roleObjectLabels(cluster: LabelledCluster, config: LabelConfig, role: PostgresRole): Record<string, string> {
  return { ...objectLabels(cluster, config), [podRoleLabelKey(config)]: role };
}

/**
 * `base` plus the inherited annotations, or undefined when that is empty (upstream annotationsSet).
 * Inherited annotations override `base`, as upstream does.
 */
export function objectAnnotations(
  cluster: LabelledCluster,
  config: LabelConfig,
  base?: Readonly<Record<string, string>>,
): Record<string, string> | undefined {
  const out = { ...(base ?? {}), ...inheritedAnnotations(cluster, config) };
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Annotations of the CR whose keys match one of the config downscaler_annotations regular
 * expressions (upstream AnnotationsToPropagate; used on the StatefulSet and pooler Deployments).
 */
export function downscalerAnnotations(cluster: LabelledCluster, config: LabelConfig): Record<string, string> {
  const out: Record<string, string> = {};
  const patterns = (config.downscalerAnnotations ?? []).map((p) => new RegExp(p));
  for (const [key, value] of Object.entries(cluster.metadata?.annotations ?? {})) {
    if (patterns.some((re) => re.test(key))) out[key] = value;
  }
  return out;
}

function pickKeys(source: Readonly<Record<string, string>> | undefined, keys: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (source === undefined || keys === undefined) return out;
  for (const key of keys) {
    const value = source[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function withoutKeys(source: Record<string, string>, keys: readonly string[]): Record<string, string> {
  const out = { ...source };
  for (const key of keys) delete out[key];
  return out;
}
