import { SYSTEM_NAMESPACE } from './stack.js';

/** Name of the flat operator ConfigMap both sides read (CONFIG_MAP_NAME=<namespace>/<name>). */
export const CONFIG_MAP = 'postgres-operator';
export const CONFIG_MAP_REF = `${SYSTEM_NAMESPACE}/${CONFIG_MAP}`;

/**
 * The one operator configuration both sides get, in upstream's flat ConfigMap form. Everything not
 * listed keeps upstream's default on both sides. Set here, and why:
 * - features neither side can use on this machine are off: database access (kwok pods run no
 *   Postgres; Zalando also gets -nodatabaseaccess), the Teams API (-noteamsapi), load balancers;
 * - the CRD is installed by the bench, identical for both, so Zalando must not replace it;
 * - finalizers on: pgfn always cleans up through the finalizer, so Zalando does the same work;
 * - Patroni on Endpoints (upstream's default, spelled out because it changes which objects exist);
 * - info-level logs on both (upstream defaults to debug logging, pgfn logs at info);
 * - `api_port` moves Zalando's REST API off 8080, which the receive adapter binds.
 */
export function operatorConfigMap(apiPort: number): Record<string, string> {
  return {
    watched_namespace: '*',
    enable_crd_registration: 'false',
    enable_database_access: 'false',
    enable_teams_api: 'false',
    enable_postgres_team_crd: 'false',
    enable_master_load_balancer: 'false',
    enable_replica_load_balancer: 'false',
    enable_master_pooler_load_balancer: 'false',
    enable_replica_pooler_load_balancer: 'false',
    enable_finalizers: 'true',
    kubernetes_use_configmaps: 'false',
    debug_logging: 'false',
    workers: '8',
    api_port: String(apiPort),
  };
}
