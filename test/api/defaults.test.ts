import { expect } from 'chai';
import { CONFIG_KEYS, DEFAULT_OPERATOR_CONFIG, camelCase, fromConfigMap, type OperatorConfig } from '@pgfn/api';
import { NEWER_UPSTREAM_DEFAULTS, PGFN_DEFAULTS_FROM, operatorConfigMap } from '../../bench/lib/operator-config.js';

/** The release of zalando/postgres-operator whose pkg/util/config/config.go the table's tags are read from. */
const UPSTREAM_VERSION = 'v2.0.1';

// [ConfigMap key, the `default:"…"` tag of upstream pkg/util/config/config.go at UPSTREAM_VERSION, the typed value pgfn holds]
const UPSTREAM_DEFAULTS: Array<[string, string, unknown]> = [
  ['ready_wait_interval', '4s', 4],
  ['ready_wait_timeout', '30s', 30],
  ['resync_period', '30m', 1800],
  ['repair_period', '5m', 300],
  ['enable_crd_registration', 'true', true],
  ['crd_categories', 'all', ['all']],
  ['enable_owner_references', 'false', false],
  ['resource_check_interval', '3s', 3],
  ['resource_check_timeout', '10m', 600],
  ['pod_label_wait_timeout', '10m', 600],
  ['pod_deletion_wait_timeout', '10m', 600],
  ['pod_terminate_grace_period', '5m', 300],
  ['cluster_domain', 'cluster.local', 'cluster.local'],
  ['spilo_allow_privilege_escalation', 'true', true],
  ['cluster_labels', 'application:spilo', { application: 'spilo' }],
  ['cluster_name_label', 'cluster-name', 'cluster-name'],
  ['pod_role_label', 'spilo-role', 'spilo-role'],
  ['node_readiness_label_merge', 'OR', 'OR'],
  ['enable_shm_volume', 'true', true],
  ['max_instances', '-1', -1],
  ['min_instances', '-1', -1],
  [
    'secret_name_template',
    '{username}.{cluster}.credentials.{tprkind}.{tprgroup}',
    '{username}.{cluster}.credentials.{tprkind}.{tprgroup}',
  ],
  ['pam_role_name', 'zalandos', 'zalandos'],
  ['teams_api_url', 'https://teams.example.com/api/', 'https://teams.example.com/api/'],
  ['oauth_token_secret_name', 'postgresql-operator', { namespace: '', name: 'postgresql-operator' }],
  ['super_username', 'postgres', 'postgres'],
  ['replication_username', 'standby', 'standby'],
  ['password_rotation_interval', '90', 90],
  ['password_rotation_user_retention', '180', 180],
  ['scalyr_server_url', 'https://upload.eu.scalyr.com', 'https://upload.eu.scalyr.com'],
  ['scalyr_cpu_request', '100m', '100m'],
  ['scalyr_memory_request', '50Mi', '50Mi'],
  ['scalyr_cpu_limit', '1', '1'],
  ['scalyr_memory_limit', '500Mi', '500Mi'],
  ['logical_backup_schedule', '30 00 * * *', '30 00 * * *'],
  [
    'logical_backup_docker_image',
    'ghcr.io/zalando/postgres-operator/logical-backup:v2.0.1',
    'ghcr.io/zalando/postgres-operator/logical-backup:v2.0.1',
  ],
  ['logical_backup_provider', 's3', 's3'],
  ['logical_backup_s3_bucket_prefix', 'spilo', 'spilo'],
  ['logical_backup_job_prefix', 'logical-backup-', 'logical-backup-'],
  ['logical_backup_successful_jobs_history_limit', '3', 3],
  ['logical_backup_failed_jobs_history_limit', '3', 3],
  ['logical_backup_ttl_seconds_after_finished', '86400', 86400],
  ['connection_pooler_number_of_instances', '2', 2],
  ['connection_pooler_schema', 'pooler', 'pooler'],
  ['connection_pooler_user', 'pooler', 'pooler'],
  ['connection_pooler_image', 'ghcr.io/zalando/postgres-operator/pgbouncer:v2.0.1', 'ghcr.io/zalando/postgres-operator/pgbouncer:v2.0.1'],
  ['connection_pooler_mode', 'transaction', 'transaction'],
  ['connection_pooler_max_db_connections', '60', 60],
  ['kubernetes_use_configmaps', 'true', true],
  ['enable_maintenance_windows', 'true', true],
  ['docker_image', 'ghcr.io/zalando/spilo-18:4.1-p2', 'ghcr.io/zalando/spilo-18:4.1-p2'],
  ['pod_service_account_name', 'postgres-pod', 'postgres-pod'],
  ['master_pod_move_timeout', '20m', 1200],
  ['db_hosted_zone', 'db.example.com', 'db.example.com'],
  ['aws_region', 'eu-central-1', 'eu-central-1'],
  ['debug_logging', 'true', true],
  ['enable_database_access', 'true', true],
  ['enable_teams_api', 'true', true],
  ['team_admin_role', 'admin', 'admin'],
  ['role_deletion_suffix', '_deleted', '_deleted'],
  ['enable_admin_role_for_users', 'true', true],
  ['enable_postgres_team_crd', 'false', false],
  ['enable_master_load_balancer', 'true', true],
  ['enable_replica_load_balancer', 'false', false],
  ['pod_antiaffinity_topology_key', 'kubernetes.io/hostname', 'kubernetes.io/hostname'],
  ['storage_resize_mode', 'pvc', 'pvc'],
  ['external_traffic_policy', 'Cluster', 'Cluster'],
  ['master_dns_name_format', '{cluster}.{namespace}.{hostedzone}', '{cluster}.{namespace}.{hostedzone}'],
  ['replica_dns_name_format', '{cluster}-repl.{namespace}.{hostedzone}', '{cluster}-repl.{namespace}.{hostedzone}'],
  ['pdb_name_format', 'postgres-{cluster}-pdb', 'postgres-{cluster}-pdb'],
  ['pdb_master_label_selector', 'true', true],
  ['enable_pod_disruption_budget', 'true', true],
  ['enable_init_containers', 'true', true],
  ['enable_sidecars', 'true', true],
  ['share_pgsocket_with_sidecars', 'false', false],
  ['workers', '8', 8],
  ['api_port', '8080', 8080],
  ['ring_log_lines', '100', 100],
  ['cluster_history_entries', '1000', 1000],
  ['team_api_role_configuration', 'log_statement:all', { log_statement: 'all' }],
  ['pod_management_policy', 'ordered_ready', 'ordered_ready'],
  ['protected_role_names', 'admin,cron_admin', ['admin', 'cron_admin']],
  ['enable_finalizers', 'false', false],
  ['enable_pgversion_env_var', 'true', true],
  ['major_version_upgrade_mode', 'manual', 'manual'],
  ['minimal_major_version', '14', '14'],
  ['target_major_version', '18', '18'],
  ['patroni_api_check_interval', '1s', 1],
  ['patroni_api_check_timeout', '5s', 5],
  ['enable_patroni_failsafe_mode', 'false', false],
  ['enable_secrets_deletion', 'true', true],
  ['enable_persistent_volume_claim_deletion', 'true', true],
  ['persistent_volume_claim_retention_policy', 'when_deleted:retain,when_scaled:retain', { when_deleted: 'retain', when_scaled: 'retain' }],
];

// Keys whose config.go tag is empty or absent: pgfn holds the Go zero value (or "unset").
const EMPTY_DEFAULTS: Array<[string, unknown]> = [
  ['watched_namespace', ''],
  ['etcd_host', ''],
  ['additional_pod_capabilities', []],
  ['inherited_labels', []],
  ['toleration', {}],
  ['node_readiness_label', {}],
  ['default_cpu_request', ''],
  ['default_memory_limit', ''],
  ['connection_pooler_default_cpu_request', ''],
  ['sidecar_docker_images', {}],
  ['custom_service_annotations', {}],
  ['postgres_superuser_teams', []],
  ['spilo_runasuser', undefined],
  ['pod_environment_configmap', undefined],
  ['infrastructure_roles_secret_name', undefined],
  ['enable_load_balancer', undefined],
  ['liveness_probe', undefined],
];

function prop(key: string): keyof OperatorConfig {
  return camelCase(key) as keyof OperatorConfig;
}

describe('DEFAULT_OPERATOR_CONFIG', () => {
  for (const [key, tag, expected] of UPSTREAM_DEFAULTS) {
    it(`holds upstream's default for ${key} (${JSON.stringify(tag)})`, () => {
      expect(DEFAULT_OPERATOR_CONFIG[prop(key)]).to.deep.equal(expected);
      // The tag itself, decoded like a ConfigMap value, gives the same value.
      const { config, errors } = fromConfigMap({ [key]: tag });
      expect(errors).to.deep.equal([]);
      expect(config[prop(key)]).to.deep.equal(expected);
    });
  }

  for (const [key, expected] of EMPTY_DEFAULTS) {
    it(`leaves ${key} empty as upstream does`, () => {
      expect(DEFAULT_OPERATOR_CONFIG).to.have.property(prop(key));
      expect(DEFAULT_OPERATOR_CONFIG[prop(key)]).to.deep.equal(expected);
    });
  }

  it('is frozen, nested values included', () => {
    expect(Object.isFrozen(DEFAULT_OPERATOR_CONFIG)).to.equal(true);
    expect(Object.isFrozen(DEFAULT_OPERATOR_CONFIG.clusterLabels)).to.equal(true);
    expect(Object.isFrozen(DEFAULT_OPERATOR_CONFIG.protectedRoleNames)).to.equal(true);
  });
});

describe('CONFIG_KEYS', () => {
  it('has one row per OperatorConfig property and no other', () => {
    const props = CONFIG_KEYS.map((row) => row.prop).sort();
    expect(props).to.deep.equal(Object.keys(DEFAULT_OPERATOR_CONFIG).sort());
    expect(new Set(CONFIG_KEYS.map((row) => row.key)).size).to.equal(CONFIG_KEYS.length);
  });

  it('names every property as the camelCase of its key', () => {
    for (const row of CONFIG_KEYS) expect(row.prop, row.key).to.equal(camelCase(row.key));
  });

  it('covers every key this test checks', () => {
    const keys = new Set(CONFIG_KEYS.map((row) => row.key));
    for (const [key] of [...UPSTREAM_DEFAULTS, ...EMPTY_DEFAULTS]) expect(keys.has(key), key).to.equal(true);
  });
});

describe('bench/lib/operator-config.ts against this table', () => {
  const tag = (key: string): string | undefined => UPSTREAM_DEFAULTS.find(([k]) => k === key)?.[1];

  it('names the same upstream release for the defaults pgfn holds', () => {
    expect(PGFN_DEFAULTS_FROM).to.equal(UPSTREAM_VERSION);
  });

  it("gives the older Zalando build exactly this release's defaults where they changed", () => {
    for (const [key, value] of Object.entries(NEWER_UPSTREAM_DEFAULTS)) expect(value, key).to.equal(tag(key));
  });

  it('sets only keys pgfn reads from a ConfigMap, and differs from the table only where it says why', () => {
    const data = operatorConfigMap(8081);
    expect(fromConfigMap(data).errors).to.deep.equal([]);
    const changed = Object.entries(data)
      .filter(([key, value]) => tag(key) !== value)
      .map(([key]) => key)
      .sort();
    // Each is explained in operator-config.ts: features off on this machine, CRD installed by the bench,
    // finalizers on, Patroni on Endpoints, info logs, the REST API off the adapter's port, all namespaces.
    expect(changed).to.deep.equal([
      'api_port',
      'debug_logging',
      'enable_crd_registration',
      'enable_database_access',
      'enable_finalizers',
      'enable_master_load_balancer',
      'enable_master_pooler_load_balancer',
      'enable_replica_pooler_load_balancer',
      'enable_teams_api',
      'kubernetes_use_configmaps',
      'watched_namespace',
    ]);
  });
});
