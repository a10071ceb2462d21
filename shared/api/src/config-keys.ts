// One row per operator configuration key: its ConfigMap name (= the CRD field name), the
// OperatorConfig property (camelCase of the key, checked by the compiler), the value type,
// and where it lives in the OperatorConfiguration CR. Sources: upstream pkg/util/config/config.go
// (names, Go types, pointers), operator_configuration_type.go (groups, enums, minimums) and
// pkg/controller/operator_config.go (which CRD values are coalesced to defaults).
import type { OperatorConfig } from './config.js';
import type { IntFormat } from './go-parse.js';

export type ValueKind =
  | { type: 'string'; enum?: readonly string[] }
  | { type: 'bool' }
  | ({ type: 'int'; min?: number } & IntFormat)
  | { type: 'duration' }
  | { type: 'list'; items?: 'maintenanceWindow' }
  | { type: 'map' }
  | { type: 'namespacedName' }
  | { type: 'infrastructureRoles' }
  | { type: 'containers' }
  | { type: 'probe' };

/** Groups of the CR's `configuration:`; '' is the top level. */
export type CrdGroup =
  | ''
  | 'users'
  | 'major_version_upgrade'
  | 'kubernetes'
  | 'postgres_pod_resources'
  | 'timeouts'
  | 'load_balancer'
  | 'aws_or_gcp'
  | 'debug'
  | 'teams_api'
  | 'logging_rest_api'
  | 'scalyr'
  | 'logical_backup'
  | 'connection_pooler'
  | 'patroni';

export interface ConfigKey {
  /** ConfigMap key and CRD field name. */
  key: string;
  prop: keyof OperatorConfig;
  kind: ValueKind;
  /** Group in the CR; undefined when the key exists only in the ConfigMap form. */
  group: CrdGroup | undefined;
  /** Not accepted in the ConfigMap form (upstream `name:"-"`). */
  crdOnly: boolean;
  /** A Go pointer field: an empty ConfigMap value leaves it unset, which pgfn reads as the default. */
  ptr: boolean;
  /** The CRD path replaces an empty value ('', 0, [], {}) with the default. */
  coalesce: boolean;
  /** Never echo the value in errors. */
  secret: boolean;
}

type Camel<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type Key = { [K in keyof OperatorConfig]: K extends string ? K : never }[keyof OperatorConfig];
type SnakeKey<S extends string> = Camel<S> extends Key ? S : never;

interface Flags {
  crdOnly?: boolean;
  ptr?: boolean;
  coalesce?: boolean;
  secret?: boolean;
}

/** snake_case -> camelCase, the rule that names every OperatorConfig property. */
export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, ch: string) => ch.toUpperCase());
}

function row<S extends string>(key: SnakeKey<S>, kind: ValueKind, group: CrdGroup | undefined, flags: Flags = {}): ConfigKey {
  return {
    key,
    prop: camelCase(key) as keyof OperatorConfig,
    kind,
    group,
    crdOnly: flags.crdOnly ?? false,
    ptr: flags.ptr ?? false,
    coalesce: flags.coalesce ?? false,
    secret: flags.secret ?? false,
  };
}

const STR: ValueKind = { type: 'string' };
const BOOL: ValueKind = { type: 'bool' };
const DUR: ValueKind = { type: 'duration' };
const LIST: ValueKind = { type: 'list' };
const MAP: ValueKind = { type: 'map' };
const NSNAME: ValueKind = { type: 'namespacedName' };
const INT: ValueKind = { type: 'int', bits: 64, signed: true };
const INT32: ValueKind = { type: 'int', bits: 32, signed: true };
const INT64: ValueKind = { type: 'int', bits: 64, signed: true };
const UINT32: ValueKind = { type: 'int', bits: 32, signed: false };
const enumOf = (...values: string[]): ValueKind => ({ type: 'string', enum: values });
const int32Min = (min: number): ValueKind => ({ type: 'int', bits: 32, signed: true, min });

// Durations are Go pointers and always coalesced by the CRD path (util.CoalesceDuration).
const PD: Flags = { ptr: true, coalesce: true };
const P: Flags = { ptr: true };
const C: Flags = { coalesce: true };

export const CONFIG_KEYS: readonly ConfigKey[] = Object.freeze([
  // top level of `configuration:`
  row('enable_crd_registration', BOOL, '', P),
  row('crd_categories', LIST, '', C),
  row('enable_lazy_spilo_upgrade', BOOL, ''),
  row('enable_pgversion_env_var', BOOL, ''),
  row('enable_spilo_wal_path_compat', BOOL, ''),
  row('enable_team_id_clustername_prefix', BOOL, ''),
  row('etcd_host', STR, ''),
  row('kubernetes_use_configmaps', BOOL, '', P),
  row('docker_image', STR, '', C),
  row('workers', { type: 'int', bits: 32, signed: false, min: 1 }, '', C),
  row('resync_period', DUR, '', PD),
  row('repair_period', DUR, '', PD),
  row('enable_maintenance_windows', BOOL, '', P),
  row('maintenance_windows', { type: 'list', items: 'maintenanceWindow' }, ''),
  row('set_memory_request_to_limit', BOOL, ''),
  row('enable_shm_volume', BOOL, '', P),
  row('sidecar_docker_images', MAP, ''),
  row('sidecars', { type: 'containers' }, ''),
  row('min_instances', int32Min(-1), ''),
  row('max_instances', int32Min(-1), ''),
  row('ignore_instance_limits_annotation_key', STR, ''),
  row('ignore_resources_limits_annotation_key', STR, ''),

  row('super_username', STR, 'users', C),
  row('replication_username', STR, 'users', C),
  row('additional_owner_roles', LIST, 'users'),
  row('enable_password_rotation', BOOL, 'users'),
  row('password_rotation_interval', UINT32, 'users', C),
  row('password_rotation_user_retention', UINT32, 'users', C),

  row('major_version_upgrade_mode', enumOf('off', 'manual', 'full'), 'major_version_upgrade', C),
  row('major_version_upgrade_team_allow_list', LIST, 'major_version_upgrade'),
  row('minimal_major_version', STR, 'major_version_upgrade', C),
  row('target_major_version', STR, 'major_version_upgrade', C),

  row('enable_owner_references', BOOL, 'kubernetes', P),
  row('pod_service_account_name', STR, 'kubernetes', C),
  row('pod_service_account_definition', STR, 'kubernetes'),
  row('pod_service_account_role_binding_definition', STR, 'kubernetes'),
  row('pod_terminate_grace_period', DUR, 'kubernetes', PD),
  row('liveness_probe', { type: 'probe' }, 'kubernetes', { crdOnly: true }),
  row('spilo_privileged', BOOL, 'kubernetes'),
  row('spilo_allow_privilege_escalation', BOOL, 'kubernetes', P),
  row('spilo_runasuser', INT64, 'kubernetes', P),
  row('spilo_runasgroup', INT64, 'kubernetes', P),
  row('spilo_fsgroup', INT64, 'kubernetes', P),
  row('additional_pod_capabilities', LIST, 'kubernetes'),
  row('watched_namespace', STR, 'kubernetes'),
  row('pdb_name_format', STR, 'kubernetes'),
  row('pdb_master_label_selector', BOOL, 'kubernetes', P),
  row('enable_pod_disruption_budget', BOOL, 'kubernetes', P),
  row('storage_resize_mode', enumOf('ebs', 'mixed', 'pvc', 'off'), 'kubernetes', C),
  row('enable_init_containers', BOOL, 'kubernetes', P),
  row('enable_sidecars', BOOL, 'kubernetes', P),
  row('share_pgsocket_with_sidecars', BOOL, 'kubernetes', P),
  row('secret_name_template', STR, 'kubernetes'),
  row('cluster_domain', STR, 'kubernetes', C),
  row('oauth_token_secret_name', NSNAME, 'kubernetes'),
  row('infrastructure_roles_secret_name', NSNAME, 'kubernetes'),
  row('infrastructure_roles_secrets', { type: 'infrastructureRoles' }, 'kubernetes'),
  row('pod_role_label', STR, 'kubernetes', C),
  row('cluster_labels', MAP, 'kubernetes', C),
  row('inherited_labels', LIST, 'kubernetes'),
  row('inherited_annotations', LIST, 'kubernetes'),
  row('downscaler_annotations', LIST, 'kubernetes'),
  row('ignored_annotations', LIST, 'kubernetes'),
  row('cluster_name_label', STR, 'kubernetes', C),
  row('delete_annotation_date_key', STR, 'kubernetes'),
  row('delete_annotation_name_key', STR, 'kubernetes'),
  row('node_readiness_label', MAP, 'kubernetes'),
  row('node_readiness_label_merge', enumOf('AND', 'OR'), 'kubernetes'),
  row('custom_pod_annotations', MAP, 'kubernetes'),
  row('toleration', MAP, 'kubernetes'),
  row('pod_environment_configmap', NSNAME, 'kubernetes'),
  row('pod_environment_secret', STR, 'kubernetes'),
  row('pod_priority_class_name', STR, 'kubernetes'),
  row('master_pod_move_timeout', DUR, 'kubernetes', PD),
  row('enable_pod_antiaffinity', BOOL, 'kubernetes'),
  row('pod_antiaffinity_preferred_during_scheduling', BOOL, 'kubernetes'),
  row('pod_antiaffinity_topology_key', STR, 'kubernetes', C),
  row('pod_management_policy', enumOf('ordered_ready', 'parallel'), 'kubernetes', C),
  row('persistent_volume_claim_retention_policy', MAP, 'kubernetes'),
  row('enable_secrets_deletion', BOOL, 'kubernetes', P),
  row('enable_persistent_volume_claim_deletion', BOOL, 'kubernetes', P),
  row('enable_readiness_probe', BOOL, 'kubernetes'),
  row('enable_cross_namespace_secret', BOOL, 'kubernetes'),
  row('enable_finalizers', BOOL, 'kubernetes', P),

  row('default_cpu_request', STR, 'postgres_pod_resources'),
  row('default_memory_request', STR, 'postgres_pod_resources'),
  row('default_cpu_limit', STR, 'postgres_pod_resources'),
  row('default_memory_limit', STR, 'postgres_pod_resources'),
  row('min_cpu_limit', STR, 'postgres_pod_resources'),
  row('min_memory_limit', STR, 'postgres_pod_resources'),
  row('max_cpu_request', STR, 'postgres_pod_resources'),
  row('max_memory_request', STR, 'postgres_pod_resources'),

  row('resource_check_interval', DUR, 'timeouts', PD),
  row('resource_check_timeout', DUR, 'timeouts', PD),
  row('pod_label_wait_timeout', DUR, 'timeouts', PD),
  row('pod_deletion_wait_timeout', DUR, 'timeouts', PD),
  row('ready_wait_interval', DUR, 'timeouts', PD),
  row('ready_wait_timeout', DUR, 'timeouts', PD),
  row('patroni_api_check_interval', DUR, 'timeouts', PD),
  row('patroni_api_check_timeout', DUR, 'timeouts', PD),

  row('db_hosted_zone', STR, 'load_balancer', C),
  row('enable_master_load_balancer', BOOL, 'load_balancer'),
  row('enable_master_pooler_load_balancer', BOOL, 'load_balancer'),
  row('enable_replica_load_balancer', BOOL, 'load_balancer'),
  row('enable_replica_pooler_load_balancer', BOOL, 'load_balancer'),
  row('enable_master_node_port', BOOL, 'load_balancer'),
  row('enable_master_pooler_node_port', BOOL, 'load_balancer'),
  row('enable_replica_node_port', BOOL, 'load_balancer'),
  row('enable_replica_pooler_node_port', BOOL, 'load_balancer'),
  row('custom_service_annotations', MAP, 'load_balancer'),
  row('master_dns_name_format', STR, 'load_balancer'),
  row('master_legacy_dns_name_format', STR, 'load_balancer'),
  row('replica_dns_name_format', STR, 'load_balancer'),
  row('replica_legacy_dns_name_format', STR, 'load_balancer'),
  row('external_traffic_policy', enumOf('Cluster', 'Local'), 'load_balancer', C),
  // Deprecated upstream; only the ConfigMap ever had it.
  row('enable_load_balancer', BOOL, undefined, P),

  row('wal_s3_bucket', STR, 'aws_or_gcp'),
  row('aws_region', STR, 'aws_or_gcp'),
  row('wal_gs_bucket', STR, 'aws_or_gcp'),
  row('gcp_credentials', STR, 'aws_or_gcp'),
  row('wal_az_storage_account', STR, 'aws_or_gcp'),
  row('log_s3_bucket', STR, 'aws_or_gcp'),
  row('kube_iam_role', STR, 'aws_or_gcp'),
  row('irsa_role_arn', STR, 'aws_or_gcp'),
  row('additional_secret_mount', STR, 'aws_or_gcp'),
  row('additional_secret_mount_path', STR, 'aws_or_gcp'),

  row('debug_logging', BOOL, 'debug'),
  row('enable_database_access', BOOL, 'debug'),

  row('enable_teams_api', BOOL, 'teams_api'),
  row('teams_api_url', STR, 'teams_api', C),
  row('team_api_role_configuration', MAP, 'teams_api', C),
  row('enable_team_superuser', BOOL, 'teams_api'),
  row('enable_admin_role_for_users', BOOL, 'teams_api'),
  row('team_admin_role', STR, 'teams_api'),
  row('pam_role_name', STR, 'teams_api', C),
  row('pam_configuration', STR, 'teams_api', C),
  row('protected_role_names', LIST, 'teams_api', C),
  row('postgres_superuser_teams', LIST, 'teams_api'),
  row('enable_postgres_team_crd', BOOL, 'teams_api'),
  row('enable_postgres_team_crd_superusers', BOOL, 'teams_api'),
  row('enable_team_member_deprecation', BOOL, 'teams_api'),
  row('role_deletion_suffix', STR, 'teams_api', C),

  row('api_port', INT, 'logging_rest_api', C),
  row('ring_log_lines', INT, 'logging_rest_api', C),
  row('cluster_history_entries', INT, 'logging_rest_api', C),

  row('scalyr_api_key', STR, 'scalyr', { secret: true }),
  row('scalyr_image', STR, 'scalyr'),
  row('scalyr_server_url', STR, 'scalyr'),
  row('scalyr_cpu_request', STR, 'scalyr'),
  row('scalyr_memory_request', STR, 'scalyr'),
  row('scalyr_cpu_limit', STR, 'scalyr'),
  row('scalyr_memory_limit', STR, 'scalyr'),

  row('logical_backup_schedule', STR, 'logical_backup', C),
  row('logical_backup_docker_image', STR, 'logical_backup', C),
  row('logical_backup_provider', enumOf('az', 'gcs', 's3'), 'logical_backup', C),
  row('logical_backup_azure_storage_account_name', STR, 'logical_backup'),
  row('logical_backup_azure_storage_container', STR, 'logical_backup'),
  row('logical_backup_azure_storage_account_key', STR, 'logical_backup', { secret: true }),
  row('logical_backup_s3_bucket', STR, 'logical_backup'),
  row('logical_backup_s3_bucket_prefix', STR, 'logical_backup', C),
  row('logical_backup_s3_region', STR, 'logical_backup'),
  row('logical_backup_s3_endpoint', STR, 'logical_backup'),
  row('logical_backup_s3_access_key_id', STR, 'logical_backup'),
  row('logical_backup_s3_secret_access_key', STR, 'logical_backup', { secret: true }),
  row('logical_backup_s3_sse', STR, 'logical_backup'),
  row('logical_backup_s3_retention_time', STR, 'logical_backup'),
  row('logical_backup_google_application_credentials', STR, 'logical_backup'),
  row('logical_backup_job_prefix', STR, 'logical_backup', C),
  row('logical_backup_cronjob_environment_secret', STR, 'logical_backup'),
  row('logical_backup_cpu_request', STR, 'logical_backup'),
  row('logical_backup_memory_request', STR, 'logical_backup'),
  row('logical_backup_cpu_limit', STR, 'logical_backup'),
  row('logical_backup_memory_limit', STR, 'logical_backup'),
  row('logical_backup_successful_jobs_history_limit', int32Min(0), 'logical_backup', P),
  row('logical_backup_failed_jobs_history_limit', int32Min(0), 'logical_backup', P),
  row('logical_backup_ttl_seconds_after_finished', int32Min(0), 'logical_backup', P),

  row('connection_pooler_number_of_instances', int32Min(1), 'connection_pooler', P),
  row('connection_pooler_schema', STR, 'connection_pooler', C),
  row('connection_pooler_user', STR, 'connection_pooler', C),
  row('connection_pooler_image', STR, 'connection_pooler', C),
  row('connection_pooler_mode', enumOf('session', 'transaction'), 'connection_pooler', C),
  row('connection_pooler_max_db_connections', INT32, 'connection_pooler', P),
  row('connection_pooler_default_cpu_request', STR, 'connection_pooler'),
  row('connection_pooler_default_memory_request', STR, 'connection_pooler'),
  row('connection_pooler_default_cpu_limit', STR, 'connection_pooler'),
  row('connection_pooler_default_memory_limit', STR, 'connection_pooler'),

  row('enable_patroni_failsafe_mode', BOOL, 'patroni', P),
]);

/** Rows by ConfigMap key. */
export const CONFIG_KEYS_BY_KEY: ReadonlyMap<string, ConfigKey> = new Map(CONFIG_KEYS.map((k) => [k.key, k]));
