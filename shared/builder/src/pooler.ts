// The PgBouncer Deployment `<c>-pooler[-repl]` and its userlist Secret `<c>-pooler[-repl]-u`
// (upstream generateConnectionPoolerPodTemplate, generateConnectionPoolerDeployment,
// getConnectionPoolerEnvVars, generateConnectionPoolerAuthSecret and generateUserlist in
// pkg/cluster/connection_pooler.go). The Service is in pooler-service.ts.
import type { V1Container, V1Deployment, V1EnvVar, V1PodSpec, V1Secret, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { secretEnv, valueEnv } from './env-vars.js';
import { downscalerAnnotations, objectAnnotations, type PostgresRole } from './labels.js';
import { poolerName, serviceNameForRole } from './names.js';
import { clusterObjectMeta, clusterPodAnnotations } from './object-meta.js';
import { poolerObjectLabels, poolerSelectorLabels } from './pooler-labels.js';
import {
  needPooler,
  POOLER_MAX_CLIENT_CONNECTIONS,
  poolerDefaultResources,
  poolerImage,
  poolerMode,
  poolerSchema,
  poolerSizes,
  poolerUser,
} from './pooler-settings.js';
import { resourceRequirements } from './resources.js';
import { nodeAffinity, podAffinity, tolerations } from './scheduling.js';
import { credentialSecretName, encodeData } from './secrets.js';
import { POSTGRES_PORT } from './spilo-container.js';
import { tlsMounts } from './tls.js';

export const POOLER_CONTAINER_NAME = 'connection-pooler';
/** PgBouncer image's user and group (upstream poolerRunAsUser / poolerRunAsGroup). */
export const POOLER_RUN_AS_USER = 100;
export const POOLER_RUN_AS_GROUP = 101;
export const USERLIST_KEY = 'userlist.txt';
const USERLIST_PATH = '/etc/pgbouncer/userlist.txt';
/** Spilo's TLS variable names, renamed to what the PgBouncer image reads. */
const POOLER_TLS_ENV: Readonly<Record<string, string>> = {
  SSL_CERTIFICATE_FILE: 'CONNECTION_POOLER_CLIENT_TLS_CRT',
  SSL_PRIVATE_KEY_FILE: 'CONNECTION_POOLER_CLIENT_TLS_KEY',
  SSL_CA_FILE: 'CONNECTION_POOLER_CLIENT_CA_FILE',
};

/** The Secret with PgBouncer's userlist.txt for a role's pooler. */
export function poolerAuthSecretName(cluster: Postgresql, role: PostgresRole): string {
  return `${poolerName(cluster, role)}-u`;
}

/** Sizing and mode variables the PgBouncer image turns into pgbouncer.ini. */
export function poolerSizeEnv(cluster: Postgresql, config: OperatorConfig): V1EnvVar[] {
  const sizes = poolerSizes(cluster.spec, config);
  return [
    valueEnv('CONNECTION_POOLER_PORT', String(POSTGRES_PORT)),
    valueEnv('CONNECTION_POOLER_MODE', poolerMode(cluster.spec, config)),
    valueEnv('CONNECTION_POOLER_DEFAULT_SIZE', String(sizes.defaultSize)),
    valueEnv('CONNECTION_POOLER_MIN_SIZE', String(sizes.minSize)),
    valueEnv('CONNECTION_POOLER_RESERVE_SIZE', String(sizes.reserveSize)),
    valueEnv('CONNECTION_POOLER_MAX_CLIENT_CONN', String(POOLER_MAX_CLIENT_CONNECTIONS)),
    valueEnv('CONNECTION_POOLER_MAX_DB_CONN', String(sizes.maxDbConnections)),
  ];
}

/** Where PgBouncer connects (the role's Service), as whom, and how it pools. */
export function poolerEnv(cluster: Postgresql, config: OperatorConfig, role: PostgresRole): V1EnvVar[] {
  const secret = credentialSecretName(cluster, config, poolerUser(cluster.spec, config));
  return [
    valueEnv('PGHOST', serviceNameForRole(cluster, role)),
    valueEnv('PGPORT', String(POSTGRES_PORT)),
    secretEnv('PGUSER', secret, 'username'),
    valueEnv('PGSCHEMA', poolerSchema(cluster.spec, config)),
    secretEnv('PGPASSWORD', secret, 'password'),
    ...poolerSizeEnv(cluster, config),
  ];
}

function poolerContainer(cluster: Postgresql, config: OperatorConfig, role: PostgresRole, tls: ReturnType<typeof tlsMounts>): V1Container {
  const mounts: V1VolumeMount[] = [
    { name: poolerAuthSecretName(cluster, role), mountPath: USERLIST_PATH, subPath: USERLIST_KEY, readOnly: true },
  ];
  for (const volume of tls.volumes) mounts.push({ name: volume.name, mountPath: volume.mountPath });
  const tlsEnv = tls.env.map((e) => ({ ...e, name: POOLER_TLS_ENV[e.name] ?? e.name }));
  return {
    name: POOLER_CONTAINER_NAME,
    image: poolerImage(cluster.spec, config),
    imagePullPolicy: 'IfNotPresent',
    resources: resourceRequirements(cluster.spec.connectionPooler?.resources, poolerDefaultResources(config), config, {
      path: 'spec.connectionPooler.resources',
      enforceThresholds: false,
    }),
    ports: [{ containerPort: POSTGRES_PORT, protocol: 'TCP' }],
    readinessProbe: { tcpSocket: { port: POSTGRES_PORT } },
    securityContext: { allowPrivilegeEscalation: false },
    env: [...poolerEnv(cluster, config, role), ...tlsEnv],
    volumeMounts: mounts,
  };
}

function poolerPodSpec(cluster: Postgresql, config: OperatorConfig, role: PostgresRole): V1PodSpec {
  const tls = tlsMounts(cluster.spec.tls);
  const volumes: V1Volume[] = [{ name: poolerAuthSecretName(cluster, role), secret: { secretName: poolerAuthSecretName(cluster, role) } }];
  for (const volume of tls.volumes) volumes.push({ name: volume.name, ...volume.volumeSource });
  const fsGroup = cluster.spec.spiloFSGroup ?? config.spiloFsgroup;
  const pod: V1PodSpec = {
    serviceAccountName: config.podServiceAccountName,
    terminationGracePeriodSeconds: config.podTerminateGracePeriod,
    securityContext: { runAsUser: POOLER_RUN_AS_USER, runAsGroup: POOLER_RUN_AS_GROUP, ...(fsGroup === undefined ? {} : { fsGroup }) },
    containers: [poolerContainer(cluster, config, role, tls)],
    volumes,
  };
  const tolerated = tolerations(cluster.spec.tolerations, config);
  if (tolerated.length > 0) pod.tolerations = tolerated;
  const affinity = podAffinity(poolerSelectorLabels(cluster, config, role), nodeAffinity(cluster.spec.nodeAffinity, config), config);
  if (affinity !== undefined) pod.affinity = affinity;
  return pod;
}

/** The role's pooler Deployment, or undefined when that pooler is not wanted. */
export function buildPoolerDeployment(cluster: Postgresql, config: OperatorConfig, role: PostgresRole): V1Deployment | undefined {
  if (!needPooler(cluster.spec, role)) return undefined;
  const labels = poolerObjectLabels(cluster, config, role);
  const annotations = objectAnnotations(cluster, config, clusterPodAnnotations(cluster, config));
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: clusterObjectMeta(cluster, config, {
      name: poolerName(cluster, role),
      labels,
      annotations: downscalerAnnotations(cluster, config),
    }),
    spec: {
      replicas: poolerSizes(cluster.spec, config).instances,
      selector: { matchLabels: poolerSelectorLabels(cluster, config, role) },
      template: {
        metadata: { labels, ...(annotations === undefined ? {} : { annotations }) },
        spec: poolerPodSpec(cluster, config, role),
      },
    },
  };
}

/** PgBouncer's userlist.txt: the pooler role and its password, quoted as PgBouncer expects. */
export function userlist(username: string, password: string): string {
  return `"${username}" "${password}"\n`;
}

/** The role's userlist Secret, or undefined when that pooler is not wanted. */
export function buildPoolerAuthSecret(
  cluster: Postgresql,
  config: OperatorConfig,
  role: PostgresRole,
  credentials: { readonly username: string; readonly password: string },
): V1Secret | undefined {
  if (!needPooler(cluster.spec, role)) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: clusterObjectMeta(cluster, config, {
      name: poolerAuthSecretName(cluster, role),
      labels: poolerObjectLabels(cluster, config, role),
    }),
    type: 'Opaque',
    data: encodeData({ [USERLIST_KEY]: userlist(credentials.username, credentials.password) }),
  };
}
