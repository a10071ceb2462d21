// The cluster's two PodDisruptionBudgets (upstream generatePrimaryPodDisruptionBudget and
// generateCriticalOpPodDisruptionBudget in pkg/cluster/k8sres.go). Both always exist; when budgets
// are disabled or the cluster has no pods they allow every disruption instead of disappearing.
import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { clusterLabels, CRITICAL_OPERATION_LABEL, objectLabels, podRoleLabelKey } from './labels.js';
import { criticalOpPdbName, pdbName } from './names.js';
import { clusterObjectMeta } from './object-meta.js';

function budgetsApply(cluster: Postgresql, config: OperatorConfig): boolean {
  return config.enablePodDisruptionBudget && cluster.spec.numberOfInstances > 0;
}

/**
 * Keeps the master up during voluntary disruptions (node drains): minAvailable 1 over the master pod.
 * With pdb_master_label_selector off the budget covers all pods, and with synchronous_mode_strict it
 * keeps the master plus synchronous_node_count standbys, so writes can still be acknowledged.
 */
export function buildPrimaryPdb(cluster: Postgresql, config: OperatorConfig): V1PodDisruptionBudget {
  let minAvailable = budgetsApply(cluster, config) ? 1 : 0;
  const selector = clusterLabels(cluster, config);
  if (config.pdbMasterLabelSelector) selector[podRoleLabelKey(config)] = 'master';
  const patroni = cluster.spec.patroni;
  if (!config.pdbMasterLabelSelector && minAvailable > 0 && patroni?.synchronous_mode_strict) {
    minAvailable = (patroni.synchronous_node_count ?? 1) + 1;
  }
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: clusterObjectMeta(cluster, config, { name: pdbName(cluster, config), labels: objectLabels(cluster, config) }),
    spec: { minAvailable, selector: { matchLabels: selector } },
  };
}

/**
 * Blocks voluntary evictions of pods labelled critical-operation=true (set during major upgrades).
 * maxUnavailable 0 rather than minAvailable N keeps the budget healthy while no pod carries the
 * label; "100%" when budgets do not apply.
 */
export function buildCriticalOpPdb(cluster: Postgresql, config: OperatorConfig): V1PodDisruptionBudget {
  const maxUnavailable: number | string = budgetsApply(cluster, config) ? 0 : '100%';
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: clusterObjectMeta(cluster, config, { name: criticalOpPdbName(cluster), labels: objectLabels(cluster, config) }),
    spec: { maxUnavailable, selector: { matchLabels: { ...clusterLabels(cluster, config), [CRITICAL_OPERATION_LABEL]: 'true' } } },
  };
}

export function buildPdbs(cluster: Postgresql, config: OperatorConfig): V1PodDisruptionBudget[] {
  return [buildPrimaryPdb(cluster, config), buildCriticalOpPdb(cluster, config)];
}
