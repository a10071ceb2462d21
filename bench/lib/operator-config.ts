import { SYSTEM_NAMESPACE } from './namespaces.js';

/** Name of the flat operator ConfigMap both sides read (CONFIG_MAP_NAME=<namespace>/<name>). */
export const CONFIG_MAP = 'postgres-operator';
export const CONFIG_MAP_REF = `${SYSTEM_NAMESPACE}/${CONFIG_MAP}`;

/**
 * The upstream release whose defaults pgfn holds (pkg/util/config/config.go there; checked key by key
 * in test/api/defaults.test.ts). The Zalando build the bench runs is older (ZALANDO_VERSION).
 */
export const PGFN_DEFAULTS_FROM = 'v2.0.1';

/**
 * Keys whose default differs between the Zalando build the bench runs (v1.15.1) and PGFN_DEFAULTS_FROM,
 * set to PGFN_DEFAULTS_FROM's default so both sides run the same configuration. Keys v1.15.1 does not
 * know (logical_backup_*_history_limit, logical_backup_ttl_seconds_after_finished,
 * enable_maintenance_windows) cannot be set for it; the differential test shows what they change.
 */
export const NEWER_UPSTREAM_DEFAULTS: Readonly<Record<string, string>> = {
  docker_image: 'ghcr.io/zalando/spilo-18:4.1-p2',
  logical_backup_docker_image: 'ghcr.io/zalando/postgres-operator/logical-backup:v2.0.1',
  connection_pooler_image: 'ghcr.io/zalando/postgres-operator/pgbouncer:v2.0.1',
  minimal_major_version: '14',
  target_major_version: '18',
};

/**
 * The one operator configuration both sides get, in upstream's flat ConfigMap form: NEWER_UPSTREAM_DEFAULTS,
 * plus these settings; everything else keeps its default. Set here, and why:
 * - features neither side can use on this machine are off: database access (kwok pods run no
 *   Postgres; Zalando also gets -nodatabaseaccess), the Teams API (-noteamsapi), load balancers;
 * - the CRD is installed by the bench, identical for both, so Zalando must not replace it;
 * - finalizers on: pgfn always cleans up through the finalizer, so Zalando does the same work;
 * - Patroni on Endpoints: v1.15.1's default; v2.0.1 defaults to ConfigMaps (kubernetes_use_configmaps),
 *   so it is spelled out, as it changes which objects exist;
 * - info-level logs on both (upstream defaults to debug logging, pgfn logs at info);
 * - `api_port` moves Zalando's REST API off 8080, which the receive adapter binds.
 */
export function operatorConfigMap(apiPort: number): Record<string, string> {
  return {
    ...NEWER_UPSTREAM_DEFAULTS,
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
