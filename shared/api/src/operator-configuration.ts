// The `OperatorConfiguration` custom resource (acid.zalan.do/v1): the operator's settings
// under a top-level `configuration:` key, in nested snake_case groups, as upstream
// serialises it (pkg/apis/acid.zalan.do/v1/operator_configuration_type.go).
// Durations are Go duration strings ("30s", "10m", "1h30m"); namespaced names are
// "namespace/name" or "name" (then the operator's namespace is meant).
import type { V1Container, V1ListMeta, V1ObjectMeta, V1Probe } from '@kubernetes/client-node';
import type { KnownOr } from './postgresql.js';

export interface OperatorConfiguration {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  configuration: OperatorConfigurationData;
}

export interface OperatorConfigurationList {
  apiVersion: string;
  kind: string;
  metadata?: V1ListMeta;
  items: OperatorConfiguration[];
}

/** A Go duration string such as "3s", "10m", "1h30m". */
export type GoDuration = string;

/** Top-level settings plus one object per group. */
export interface OperatorConfigurationData {
  enable_crd_registration?: boolean;
  crd_categories?: string[];
  enable_lazy_spilo_upgrade?: boolean;
  enable_pgversion_env_var?: boolean;
  enable_spilo_wal_path_compat?: boolean;
  enable_team_id_clustername_prefix?: boolean;
  etcd_host?: string;
  kubernetes_use_configmaps?: boolean;
  docker_image?: string;
  workers?: number;
  resync_period?: GoDuration;
  repair_period?: GoDuration;
  enable_maintenance_windows?: boolean;
  /** Strings in the maintenance-window form ("Mon:01:00-06:00" or "01:00-06:00"). */
  maintenance_windows?: string[];
  set_memory_request_to_limit?: boolean;
  enable_shm_volume?: boolean;
  /** Deprecated upstream in favour of `sidecars`. */
  sidecar_docker_images?: Record<string, string>;
  sidecars?: V1Container[];
  users?: PostgresUsersConfiguration;
  major_version_upgrade?: MajorVersionUpgradeConfiguration;
  kubernetes?: KubernetesMetaConfiguration;
  postgres_pod_resources?: PostgresPodResourcesDefaults;
  timeouts?: OperatorTimeouts;
  load_balancer?: LoadBalancerConfiguration;
  aws_or_gcp?: AWSGCPConfiguration;
  debug?: OperatorDebugConfiguration;
  teams_api?: TeamsAPIConfiguration;
  logging_rest_api?: LoggingRESTAPIConfiguration;
  scalyr?: ScalyrConfiguration;
  logical_backup?: OperatorLogicalBackupConfiguration;
  connection_pooler?: ConnectionPoolerConfiguration;
  patroni?: PatroniConfiguration;
  /** -1 disables the limit. */
  min_instances?: number;
  /** -1 disables the limit. */
  max_instances?: number;
  ignore_instance_limits_annotation_key?: string;
  ignore_resources_limits_annotation_key?: string;
}

export interface PostgresUsersConfiguration {
  super_username?: string;
  replication_username?: string;
  additional_owner_roles?: string[];
  enable_password_rotation?: boolean;
  /** Days. */
  password_rotation_interval?: number;
  /** Days. */
  password_rotation_user_retention?: number;
}

export interface MajorVersionUpgradeConfiguration {
  major_version_upgrade_mode?: KnownOr<'off' | 'manual' | 'full'>;
  major_version_upgrade_team_allow_list?: string[];
  minimal_major_version?: string;
  target_major_version?: string;
}

/** One infrastructure-roles Secret description, CRD form (JSON names all lower case). */
export interface InfrastructureRoleSpec {
  /** "namespace/name" or "name". */
  secretname?: string;
  userkey?: string;
  passwordkey?: string;
  rolekey?: string;
  defaultuservalue?: string;
  defaultrolevalue?: string;
  details?: string;
  template?: boolean;
}

export interface KubernetesMetaConfiguration {
  enable_owner_references?: boolean;
  pod_service_account_name?: string;
  /** JSON or YAML of a ServiceAccount. */
  pod_service_account_definition?: string;
  /** JSON or YAML of a RoleBinding. */
  pod_service_account_role_binding_definition?: string;
  pod_terminate_grace_period?: GoDuration;
  liveness_probe?: V1Probe;
  spilo_privileged?: boolean;
  spilo_allow_privilege_escalation?: boolean;
  spilo_runasuser?: number;
  spilo_runasgroup?: number;
  spilo_fsgroup?: number;
  additional_pod_capabilities?: string[];
  watched_namespace?: string;
  pdb_name_format?: string;
  pdb_master_label_selector?: boolean;
  enable_pod_disruption_budget?: boolean;
  storage_resize_mode?: KnownOr<'ebs' | 'mixed' | 'pvc' | 'off'>;
  enable_init_containers?: boolean;
  enable_sidecars?: boolean;
  share_pgsocket_with_sidecars?: boolean;
  secret_name_template?: string;
  cluster_domain?: string;
  oauth_token_secret_name?: string;
  infrastructure_roles_secret_name?: string;
  infrastructure_roles_secrets?: InfrastructureRoleSpec[];
  pod_role_label?: string;
  cluster_labels?: Record<string, string>;
  inherited_labels?: string[];
  inherited_annotations?: string[];
  downscaler_annotations?: string[];
  ignored_annotations?: string[];
  cluster_name_label?: string;
  delete_annotation_date_key?: string;
  delete_annotation_name_key?: string;
  node_readiness_label?: Record<string, string>;
  node_readiness_label_merge?: KnownOr<'AND' | 'OR'>;
  custom_pod_annotations?: Record<string, string>;
  /** Upstream's Go field is PodToleration; the JSON name is toleration. */
  toleration?: Record<string, string>;
  pod_environment_configmap?: string;
  pod_environment_secret?: string;
  pod_priority_class_name?: string;
  master_pod_move_timeout?: GoDuration;
  enable_pod_antiaffinity?: boolean;
  pod_antiaffinity_preferred_during_scheduling?: boolean;
  pod_antiaffinity_topology_key?: string;
  pod_management_policy?: KnownOr<'ordered_ready' | 'parallel'>;
  persistent_volume_claim_retention_policy?: Record<string, string>;
  enable_secrets_deletion?: boolean;
  enable_persistent_volume_claim_deletion?: boolean;
  enable_readiness_probe?: boolean;
  enable_cross_namespace_secret?: boolean;
  enable_finalizers?: boolean;
}

/** Default and bounding resources of the Postgres container (Kubernetes quantities). */
export interface PostgresPodResourcesDefaults {
  default_cpu_request?: string;
  default_memory_request?: string;
  default_cpu_limit?: string;
  default_memory_limit?: string;
  min_cpu_limit?: string;
  min_memory_limit?: string;
  max_cpu_request?: string;
  max_memory_request?: string;
}

export interface OperatorTimeouts {
  resource_check_interval?: GoDuration;
  resource_check_timeout?: GoDuration;
  pod_label_wait_timeout?: GoDuration;
  pod_deletion_wait_timeout?: GoDuration;
  ready_wait_interval?: GoDuration;
  ready_wait_timeout?: GoDuration;
  patroni_api_check_interval?: GoDuration;
  patroni_api_check_timeout?: GoDuration;
}

export interface LoadBalancerConfiguration {
  db_hosted_zone?: string;
  enable_master_load_balancer?: boolean;
  enable_master_pooler_load_balancer?: boolean;
  enable_replica_load_balancer?: boolean;
  enable_replica_pooler_load_balancer?: boolean;
  enable_master_node_port?: boolean;
  enable_master_pooler_node_port?: boolean;
  enable_replica_node_port?: boolean;
  enable_replica_pooler_node_port?: boolean;
  custom_service_annotations?: Record<string, string>;
  master_dns_name_format?: string;
  master_legacy_dns_name_format?: string;
  replica_dns_name_format?: string;
  replica_legacy_dns_name_format?: string;
  external_traffic_policy?: KnownOr<'Cluster' | 'Local'>;
}

export interface AWSGCPConfiguration {
  wal_s3_bucket?: string;
  aws_region?: string;
  wal_gs_bucket?: string;
  gcp_credentials?: string;
  wal_az_storage_account?: string;
  log_s3_bucket?: string;
  kube_iam_role?: string;
  irsa_role_arn?: string;
  additional_secret_mount?: string;
  additional_secret_mount_path?: string;
}

export interface OperatorDebugConfiguration {
  debug_logging?: boolean;
  enable_database_access?: boolean;
}

export interface TeamsAPIConfiguration {
  enable_teams_api?: boolean;
  teams_api_url?: string;
  team_api_role_configuration?: Record<string, string>;
  enable_team_superuser?: boolean;
  enable_admin_role_for_users?: boolean;
  team_admin_role?: string;
  pam_role_name?: string;
  pam_configuration?: string;
  protected_role_names?: string[];
  postgres_superuser_teams?: string[];
  enable_postgres_team_crd?: boolean;
  enable_postgres_team_crd_superusers?: boolean;
  enable_team_member_deprecation?: boolean;
  role_deletion_suffix?: string;
}

export interface LoggingRESTAPIConfiguration {
  api_port?: number;
  ring_log_lines?: number;
  cluster_history_entries?: number;
}

export interface ScalyrConfiguration {
  scalyr_api_key?: string;
  scalyr_image?: string;
  scalyr_server_url?: string;
  scalyr_cpu_request?: string;
  scalyr_memory_request?: string;
  scalyr_cpu_limit?: string;
  scalyr_memory_limit?: string;
}

export interface ConnectionPoolerConfiguration {
  connection_pooler_number_of_instances?: number;
  connection_pooler_schema?: string;
  connection_pooler_user?: string;
  connection_pooler_image?: string;
  connection_pooler_mode?: KnownOr<'session' | 'transaction'>;
  connection_pooler_max_db_connections?: number;
  connection_pooler_default_cpu_request?: string;
  connection_pooler_default_memory_request?: string;
  connection_pooler_default_cpu_limit?: string;
  connection_pooler_default_memory_limit?: string;
}

export interface OperatorLogicalBackupConfiguration {
  logical_backup_schedule?: string;
  logical_backup_docker_image?: string;
  logical_backup_provider?: KnownOr<'az' | 'gcs' | 's3'>;
  logical_backup_azure_storage_account_name?: string;
  logical_backup_azure_storage_container?: string;
  logical_backup_azure_storage_account_key?: string;
  logical_backup_s3_bucket?: string;
  logical_backup_s3_bucket_prefix?: string;
  logical_backup_s3_region?: string;
  logical_backup_s3_endpoint?: string;
  logical_backup_s3_access_key_id?: string;
  logical_backup_s3_secret_access_key?: string;
  logical_backup_s3_sse?: string;
  logical_backup_s3_retention_time?: string;
  logical_backup_google_application_credentials?: string;
  logical_backup_job_prefix?: string;
  logical_backup_cronjob_environment_secret?: string;
  logical_backup_cpu_request?: string;
  logical_backup_memory_request?: string;
  logical_backup_cpu_limit?: string;
  logical_backup_memory_limit?: string;
  logical_backup_successful_jobs_history_limit?: number;
  logical_backup_failed_jobs_history_limit?: number;
  logical_backup_ttl_seconds_after_finished?: number;
}

export interface PatroniConfiguration {
  enable_patroni_failsafe_mode?: boolean;
}
