// Where Spilo pods may run (upstream nodeAffinity, podAffinity, tolerations and
// generateTopologySpreadConstraints in pkg/cluster/k8sres.go).
import type {
  V1Affinity,
  V1NodeAffinity,
  V1NodeSelectorTerm,
  V1PodAffinityTerm,
  V1Toleration,
  V1TopologySpreadConstraint,
} from '@kubernetes/client-node';
import type { OperatorConfig } from '@pgfn/api';

export type NodeAffinityConfig = Pick<OperatorConfig, 'nodeReadinessLabel' | 'nodeReadinessLabelMerge'>;

/**
 * The manifest's node affinity combined with config node_readiness_label: with "OR" the readiness
 * term is one more alternative, with "AND" its expressions are added to every manifest term.
 */
export function nodeAffinity(spec: V1NodeAffinity | undefined, config: NodeAffinityConfig): V1NodeAffinity | undefined {
  const labels = config.nodeReadinessLabel;
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return spec === undefined ? undefined : structuredClone(spec);
  const out: V1NodeAffinity = structuredClone(spec ?? {});
  const expressions = keys.map((key) => ({ key, operator: 'In', values: [labels[key] as string] }));
  const required = out.requiredDuringSchedulingIgnoredDuringExecution;
  if (required === undefined) {
    out.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [{ matchExpressions: expressions }] };
  } else if (config.nodeReadinessLabelMerge === 'AND') {
    required.nodeSelectorTerms = required.nodeSelectorTerms.map((term): V1NodeSelectorTerm => ({
      matchExpressions: [...(term.matchExpressions ?? []), ...expressions],
    }));
  } else if (config.nodeReadinessLabelMerge === 'OR') {
    required.nodeSelectorTerms = [...required.nodeSelectorTerms, { matchExpressions: expressions }];
  }
  return out;
}

export type AntiAffinityConfig = Pick<
  OperatorConfig,
  'enablePodAntiaffinity' | 'podAntiaffinityTopologyKey' | 'podAntiaffinityPreferredDuringScheduling'
>;

/** Pod anti-affinity between the cluster's pods (when enabled), plus the node affinity. */
export function podAffinity(
  podLabels: Readonly<Record<string, string>>,
  node: V1NodeAffinity | undefined,
  config: AntiAffinityConfig,
): V1Affinity | undefined {
  if (!config.enablePodAntiaffinity) return node === undefined ? undefined : { nodeAffinity: node };
  const term: V1PodAffinityTerm = { labelSelector: { matchLabels: { ...podLabels } }, topologyKey: config.podAntiaffinityTopologyKey };
  const affinity: V1Affinity = {
    podAntiAffinity: config.podAntiaffinityPreferredDuringScheduling
      ? { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: term }] }
      : { requiredDuringSchedulingIgnoredDuringExecution: [term] },
  };
  if (node !== undefined) affinity.nodeAffinity = node;
  return affinity;
}

/** The manifest's tolerations, else the single toleration of config `toleration`, else none. */
export function tolerations(spec: readonly V1Toleration[] | undefined, config: Pick<OperatorConfig, 'toleration'>): V1Toleration[] {
  if (spec !== undefined && spec.length > 0) return structuredClone([...spec]);
  const t = config.toleration;
  if (!t['key'] && !t['operator'] && !t['value'] && !t['effect']) return [];
  const toleration: V1Toleration = {};
  if (t['key']) toleration.key = t['key'];
  if (t['operator']) toleration.operator = t['operator'];
  if (t['value']) toleration.value = t['value'];
  if (t['effect']) toleration.effect = t['effect'];
  return [toleration];
}

/**
 * The manifest's topology spread constraints, passed through unchanged as upstream does (ADR 0020):
 * upstream's generateTopologySpreadConstraints meant to fill in the cluster's labels, but its loop only
 * changed a copy, so a constraint without a labelSelector matches no pods and never binds. Filling it
 * in would make such a DoNotSchedule constraint bind for the first time and could leave pods Pending.
 */
export function topologySpreadConstraints(
  spec: readonly V1TopologySpreadConstraint[] | undefined,
): V1TopologySpreadConstraint[] | undefined {
  if (spec === undefined || spec.length === 0) return undefined;
  return spec.map((c) => structuredClone(c));
}
