// The master Endpoints `<c>` (upstream generateEndpoint in pkg/cluster/k8sres.go; created in
// cluster.go Create only when Patroni does not use ConfigMaps). Patroni keeps the leader in these
// Endpoints and writes their addresses itself; we create the object with labels, annotations and
// owner but never set `subsets`, so applying it never takes Patroni's addresses away.
import type { V1Endpoints } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { roleObjectLabels } from './labels.js';
import { masterServiceName } from './names.js';
import { clusterObjectMeta } from './object-meta.js';

/**
 * True when Patroni keeps its leader and config in ConfigMaps (upstream
 * patroniKubernetesUseConfigMaps): Kubernetes is the DCS and kubernetes_use_configmaps is on.
 */
export function patroniUsesConfigMaps(config: Pick<OperatorConfig, 'etcdHost' | 'kubernetesUseConfigmaps'>): boolean {
  return config.etcdHost === '' && config.kubernetesUseConfigmaps;
}

/**
 * The master Endpoints, or undefined in ConfigMaps mode, where the master Service selects the leader
 * pod and Kubernetes maintains the Endpoints. With etcd as the DCS upstream still creates them.
 */
export function buildMasterEndpoints(cluster: Postgresql, config: OperatorConfig): V1Endpoints | undefined {
  if (patroniUsesConfigMaps(config)) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: clusterObjectMeta(cluster, config, { name: masterServiceName(cluster), labels: roleObjectLabels(cluster, config, 'master') }),
  };
}
