// The Service in front of a role's PgBouncer pods (upstream generateConnectionPoolerService,
// generatePoolerServiceAnnotations, shouldCreateLoadBalancerForPoolerService and
// shouldCreateNodePortForPoolerService in pkg/cluster/connection_pooler.go).
import type { V1Service, V1ServiceSpec } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { clusterNamespace } from './inputs.js';
import type { PostgresRole } from './labels.js';
import { poolerName } from './names.js';
import { clusterObjectMeta } from './object-meta.js';
import { CONNECTION_POOLER_LABEL, poolerSelectorLabels } from './pooler-labels.js';
import { needPooler } from './pooler-settings.js';
import {
  applyExposure,
  customServiceAnnotations,
  DNS_NAME_ANNOTATION,
  exposure,
  isLoadBalancer,
  roleDnsName,
  type Exposure,
} from './services.js';
import { POSTGRES_PORT } from './spilo-container.js';

export function poolerExposure(cluster: Postgresql, config: OperatorConfig, role: PostgresRole): Exposure {
  const s = cluster.spec;
  return role === 'master'
    ? exposure(
        { nodePort: s.enableMasterPoolerNodePort, port: s.masterPoolerNodePort, loadBalancer: s.enableMasterPoolerLoadBalancer },
        { nodePort: config.enableMasterPoolerNodePort, loadBalancer: config.enableMasterPoolerLoadBalancer },
      )
    : exposure(
        { nodePort: s.enableReplicaPoolerNodePort, port: s.replicaPoolerNodePort, loadBalancer: s.enableReplicaPoolerLoadBalancer },
        { nodePort: config.enableReplicaPoolerNodePort, loadBalancer: config.enableReplicaPoolerLoadBalancer },
      );
}

/**
 * The role's custom Service annotations, plus an external-dns name for a load balancer: the role's DNS
 * format applied to `<c>-pooler` (so the replica one reads `<c>-pooler-repl.…`), without legacy names.
 */
export function poolerServiceAnnotations(cluster: Postgresql, config: OperatorConfig, role: PostgresRole): Record<string, string> {
  const out = customServiceAnnotations(cluster.spec, config, role);
  if (isLoadBalancer(poolerExposure(cluster, config, role))) {
    const service = { name: poolerName(cluster, 'master'), namespace: clusterNamespace(cluster), teamId: cluster.spec.teamId ?? '' };
    out[DNS_NAME_ANNOTATION] = roleDnsName(service, config, role);
  }
  return out;
}

/** The role's pooler Service, or undefined when that pooler is not wanted. */
export function buildPoolerService(cluster: Postgresql, config: OperatorConfig, role: PostgresRole): V1Service | undefined {
  if (!needPooler(cluster.spec, role)) return undefined;
  const name = poolerName(cluster, role);
  const spec: V1ServiceSpec = {
    type: 'ClusterIP',
    ports: [{ name, port: POSTGRES_PORT, targetPort: POSTGRES_PORT }],
    selector: { [CONNECTION_POOLER_LABEL]: name },
  };
  applyExposure(spec, poolerExposure(cluster, config, role), cluster.spec.allowedSourceRanges, config);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: clusterObjectMeta(cluster, config, {
      name,
      labels: poolerSelectorLabels(cluster, config, role),
      annotations: poolerServiceAnnotations(cluster, config, role),
    }),
    spec,
  };
}
