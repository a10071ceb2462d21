// The `postgresql` custom resource (acid.zalan.do/v1), field for field as upstream
// serialises it (pkg/apis/acid.zalan.do/v1/postgresql_type.go, marshal.go, const.go).
// Fields upstream tags `omitempty` (or marks +optional) are optional here.
import type {
  V1Container,
  V1ContainerPort,
  V1EnvFromSource,
  V1EnvVar,
  V1LabelSelector,
  V1ListMeta,
  V1NodeAffinity,
  V1ObjectMeta,
  V1Probe,
  V1Toleration,
  V1TopologySpreadConstraint,
  V1Volume,
} from '@kubernetes/client-node';

/** One of the known values, or any other string (upstream accepts and passes through what it does not know). */
export type KnownOr<T extends string> = T | (string & Record<never, never>);

/** A `postgresql` object: one Postgres cluster. */
export interface Postgresql {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: PostgresSpec;
  status?: PostgresStatus;
}

export interface PostgresqlList {
  apiVersion: string;
  kind: string;
  metadata?: V1ListMeta;
  items: Postgresql[];
}

/** `spec` of a `postgresql`. */
export interface PostgresSpec {
  postgresql: PostgresqlParam;
  volume: Volume;
  patroni?: Patroni;
  resources?: Resources;

  enableConnectionPooler?: boolean;
  enableReplicaConnectionPooler?: boolean;
  connectionPooler?: ConnectionPooler;

  teamId: string;
  dockerImage?: string;

  spiloRunAsUser?: number;
  spiloRunAsGroup?: number;
  spiloFSGroup?: number;

  // Absent means "take the operator configuration's value".
  enableMasterLoadBalancer?: boolean;
  enableMasterPoolerLoadBalancer?: boolean;
  enableReplicaLoadBalancer?: boolean;
  enableReplicaPoolerLoadBalancer?: boolean;

  // NodePort services; a port of 0 or absent lets Kubernetes choose.
  enableMasterNodePort?: boolean;
  masterNodePort?: number;
  enableMasterPoolerNodePort?: boolean;
  masterPoolerNodePort?: number;
  enableReplicaNodePort?: boolean;
  replicaNodePort?: number;
  enableReplicaPoolerNodePort?: boolean;
  replicaPoolerNodePort?: number;

  /** CIDRs allowed to reach load balancers (master and replica alike). */
  allowedSourceRanges?: string[] | null;

  users?: Record<string, UserFlags>;
  usersIgnoringSecretRotation?: string[] | null;
  usersWithSecretRotation?: string[] | null;
  usersWithInPlaceSecretRotation?: string[] | null;

  numberOfInstances: number;
  maintenanceWindows?: MaintenanceWindow[];
  clone?: CloneDescription;
  /** database name -> owner role (the owner must be declared in `users`). */
  databases?: Record<string, string>;
  preparedDatabases?: Record<string, PreparedDatabase>;
  schedulerName?: string;
  nodeAffinity?: V1NodeAffinity;
  topologySpreadConstraints?: V1TopologySpreadConstraint[];
  tolerations?: V1Toleration[];
  livenessProbe?: V1Probe;
  sidecars?: Sidecar[];
  initContainers?: V1Container[];
  podPriorityClassName?: string;
  /** Upstream's Go field is ShmVolume; the JSON name is enableShmVolume. */
  enableShmVolume?: boolean;
  enableLogicalBackup?: boolean;
  logicalBackupRetention?: string;
  /** Cron schedule, five fields. */
  logicalBackupSchedule?: string;
  /** Upstream's Go field is StandbyCluster; the JSON name is standby. */
  standby?: StandbyDescription;
  podAnnotations?: Record<string, string>;
  serviceAnnotations?: Record<string, string>;
  /** Wins over serviceAnnotations for the master service when not empty. */
  masterServiceAnnotations?: Record<string, string>;
  /** Wins over serviceAnnotations for the replica service when not empty. */
  replicaServiceAnnotations?: Record<string, string>;
  tls?: TLSDescription;
  additionalVolumes?: AdditionalVolume[];
  streams?: Stream[];
  env?: V1EnvVar[];
  envFrom?: V1EnvFromSource[];
}

/** Postgres major version and postgresql.conf parameters. */
export interface PostgresqlParam {
  /** One of the versions the CRD allows ("14" … "18"). */
  version: string;
  parameters?: Record<string, string>;
}

/** The persistent volume of each Postgres pod. */
export interface Volume {
  selector?: V1LabelSelector;
  /** A Kubernetes quantity, e.g. "10Gi". */
  size: string;
  storageClass?: string;
  subPath?: string;
  isSubPathExpr?: boolean;
  iops?: number;
  throughput?: number;
  /** Upstream's Go field is VolumeType; the JSON name is type. */
  type?: string;
}

/** An extra volume mounted into some or all containers of the pod. */
export interface AdditionalVolume {
  name: string;
  mountPath: string;
  subPath?: string;
  isSubPathExpr?: boolean;
  /** Container names; absent/null means the postgres container only; ["all"] means every container. */
  targetContainers?: string[] | null;
  /** Any core/v1 VolumeSource (emptyDir, secret, configMap, persistentVolumeClaim, …). */
  volumeSource: VolumeSource;
}

/** A core/v1 VolumeSource: a Volume without its name. */
export type VolumeSource = Omit<V1Volume, 'name'>;

/** CPU, memory and huge pages of one container; values are Kubernetes quantities. */
export interface ResourceDescription {
  cpu?: string;
  memory?: string;
  'hugepages-2Mi'?: string;
  'hugepages-1Gi'?: string;
}

export interface Resources {
  requests?: ResourceDescription;
  limits?: ResourceDescription;
}

/** Patroni settings that the operator passes to Spilo's bootstrap configuration. */
export interface Patroni {
  initdb?: Record<string, string>;
  pg_hba?: string[];
  ttl?: number;
  loop_wait?: number;
  retry_timeout?: number;
  maximum_lag_on_failover?: number;
  /** slot name -> slot definition (type, plugin, database, …). */
  slots?: Record<string, Record<string, string>>;
  synchronous_mode?: boolean;
  synchronous_mode_strict?: boolean;
  synchronous_node_count?: number;
  failsafe_mode?: boolean;
}

/**
 * A standby cluster follows a remote primary and/or a WAL archive.
 * standby_host alone, or with one of s3_wal_path / gs_wal_path (which exclude each other).
 */
export interface StandbyDescription {
  s3_wal_path?: string;
  gs_wal_path?: string;
  standby_host?: string;
  standby_port?: string;
  standby_primary_slot_name?: string;
}

/** Certificates for Postgres' TLS, read from a Secret mounted into the pod. */
export interface TLSDescription {
  secretName?: string;
  certificateFile?: string;
  privateKeyFile?: string;
  caFile?: string;
  caSecretName?: string;
}

/** Which cluster to clone from, and up to which point in time. */
export interface CloneDescription {
  cluster?: string;
  uid?: string;
  /** RFC 3339 date-time with a zone offset; absent means a basebackup clone. */
  timestamp?: string;
  s3_wal_path?: string;
  s3_endpoint?: string;
  s3_access_key_id?: string;
  s3_secret_access_key?: string;
  s3_force_path_style?: boolean;
}

/** A container run beside Postgres in the same pod. */
export interface Sidecar {
  resources?: Resources;
  name?: string;
  image?: string;
  ports?: V1ContainerPort[];
  env?: V1EnvVar[];
  command?: string[];
}

/** Role options such as "superuser", "createdb", "nologin" (either case). */
export type UserFlags = string[] | null;

/**
 * A maintenance window in upstream's string form: "HH:MM-HH:MM" (every day) or
 * "Ddd:HH:MM-HH:MM" (one weekday, Mon..Sun), 24-hour clock, start not after end.
 */
export type MaintenanceWindow = string;

/** Everything to bootstrap in one prepared database. */
export interface PreparedDatabase {
  schemas?: Record<string, PreparedSchema>;
  /** Default false. */
  defaultUsers?: boolean;
  /** extension name -> schema to install it into. */
  extensions?: Record<string, string>;
  secretNamespace?: string;
}

export interface PreparedSchema {
  /** Default true. */
  defaultRoles?: boolean;
  /** Default false. */
  defaultUsers?: boolean;
}

/** Connection pooler options of one cluster; absent fields fall back to the operator configuration. */
export interface ConnectionPooler {
  numberOfInstances?: number;
  schema?: string;
  user?: string;
  mode?: KnownOr<'session' | 'transaction'>;
  dockerImage?: string;
  maxDBConnections?: number;
  resources?: Resources;
}

/** A FabricEventStream to create for this cluster. */
export interface Stream {
  applicationId: string;
  database: string;
  tables: Record<string, StreamTable>;
  filter?: Record<string, string | null>;
  batchSize?: number;
  cpu?: string;
  memory?: string;
  enableRecovery?: boolean;
}

export interface StreamTable {
  eventType: string;
  recoveryEventType?: string;
  ignoreRecovery?: boolean;
  idColumn?: string;
  payloadColumn?: string;
}

/** Values of `status.PostgresClusterStatus` (upstream const.go). */
export const CLUSTER_STATUS = {
  Unknown: '',
  Creating: 'Creating',
  Updating: 'Updating',
  UpdateFailed: 'UpdateFailed',
  SyncFailed: 'SyncFailed',
  /** Upstream's Go constant is ClusterStatusAddFailed; its value is "CreateFailed". */
  CreateFailed: 'CreateFailed',
  Running: 'Running',
  Invalid: 'Invalid',
} as const;

export type ClusterStatus = (typeof CLUSTER_STATUS)[keyof typeof CLUSTER_STATUS];

/**
 * `status` of a `postgresql`. Upstream keeps only PostgresClusterStatus; pgfn adds
 * observedGeneration and conditions (Ready, PodsReady, RolesSynced, …).
 */
export interface PostgresStatus {
  PostgresClusterStatus?: KnownOr<ClusterStatus>;
  observedGeneration?: number;
  /** Hash of the labels and annotations the status describes (pgfn's reconcile skips events that change neither). */
  observedMetadataHash?: string;
  conditions?: Condition[];
}

/** A status condition in the usual Kubernetes shape (metav1.Condition, times as RFC 3339 strings). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  /** RFC 3339 time of the last change of `status`. */
  lastTransitionTime?: string;
  observedGeneration?: number;
}
