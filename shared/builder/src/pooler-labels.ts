// Labels of the connection pooler's objects (upstream poolerLabelsSet and connectionPoolerLabels in
// pkg/cluster/connection_pooler.go). They carry the cluster's labels but application
// "db-connection-pooler", so listing the cluster's Spilo pods never finds pooler pods.
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { APPLICATION_LABEL, clusterLabels, objectLabels, podRoleLabelKey, type PostgresRole } from './labels.js';
import { poolerName } from './names.js';

export const POOLER_APPLICATION = 'db-connection-pooler';
export const CONNECTION_POOLER_LABEL = 'connection-pooler';

/** Selector labels of a role's pooler pods (Deployment selector). */
export function poolerSelectorLabels(cluster: Postgresql, config: OperatorConfig, role: PostgresRole): Record<string, string> {
  return {
    ...clusterLabels(cluster, config),
    [APPLICATION_LABEL]: POOLER_APPLICATION,
    [CONNECTION_POOLER_LABEL]: poolerName(cluster, role),
  };
}

/** Labels of a role's pooler Deployment, pods and auth Secret: object labels, pooler name and role. */
export function poolerObjectLabels(cluster: Postgresql, config: OperatorConfig, role: PostgresRole): Record<string, string> {
  return {
    ...objectLabels(cluster, config),
    [APPLICATION_LABEL]: POOLER_APPLICATION,
    [CONNECTION_POOLER_LABEL]: poolerName(cluster, role),
    [podRoleLabelKey(config)]: role,
  };
}
