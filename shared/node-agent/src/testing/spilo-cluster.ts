// Test and benchmark fixture: a real Spilo cluster on the node agent, built by @pgfn/builder from a
// `postgresql` manifest exactly as reconcile would build it (ServiceAccount + RoleBinding, Secrets,
// Services, Endpoints, PDBs, StatefulSet), plus the upstream `postgres-pod` ClusterRole. Pods are
// steered to the agent's node with the operator's own mechanism, node_readiness_label (this process's
// agents only, ADR 0145).
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { buildCluster, secretName, type KubeObject } from '@pgfn/builder';
import { KubeClient } from '@pgfn/kube';
import { agentNodeLabels } from '../node.js';

/** The upstream ClusterRole for Spilo pods (manifests/operator-service-account-rbac.yaml, postgres-pod). */
export function postgresPodClusterRole(name = 'postgres-pod'): KubeObject {
  const all = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name },
    rules: [
      { apiGroups: [''], resources: ['configmaps'], verbs: all },
      { apiGroups: [''], resources: ['endpoints'], verbs: all },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'patch', 'update', 'watch'] },
      { apiGroups: [''], resources: ['services'], verbs: ['create'] },
    ],
  } as KubeObject;
}

export interface SpiloClusterSpec {
  readonly namespace: string;
  /** Must start with the team id and a dash; default `acid-ha`. */
  readonly name?: string;
  readonly instances?: number;
  readonly version?: string;
  /** spec.postgresql.parameters of the manifest. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** bootstrap.dcs timings (Patroni section of the manifest). */
  readonly patroni?: {
    readonly ttl?: number;
    readonly loop_wait?: number;
    readonly retry_timeout?: number;
    readonly synchronous_mode?: boolean;
    readonly synchronous_mode_strict?: boolean;
  };
  readonly readinessProbe?: boolean;
  readonly podTerminateGracePeriodSeconds?: number;
  readonly connectionPooler?: boolean;
  readonly users?: Readonly<Record<string, string[]>>;
  /** spec.clone / spec.standby of the manifest, as given. */
  readonly clone?: Postgresql['spec']['clone'];
  readonly standby?: Postgresql['spec']['standby'];
  readonly databases?: Readonly<Record<string, string>>;
  /** Any other operator configuration. */
  readonly config?: Partial<OperatorConfig>;
  /**
   * Give the cluster the same role passwords as this one (a standby cluster must log in to its
   * source as the source's standby role; upstream asks users to copy the Secrets).
   */
  readonly credentialsOf?: SpiloCluster;
  /**
   * A Secret applied beside the cluster and named by pod_environment_secret (upstream's way to give
   * Spilo pods S3 credentials and WAL-G settings: AWS_ENDPOINT, AWS_ACCESS_KEY_ID, USE_WALG_BACKUP, …).
   */
  readonly podEnvironmentSecret?: { readonly name: string; readonly data: Readonly<Record<string, string>> };
  /** Manifest fields beyond the ones above (enableLogicalBackup, logicalBackupSchedule, …). */
  readonly extraSpec?: Partial<Postgresql['spec']>;
  /** Apply the logical-backup CronJob too (needs the pod service account, which the cluster has). */
  readonly withCronJob?: boolean;
}

export interface SpiloCluster {
  readonly name: string;
  readonly namespace: string;
  readonly manifest: Postgresql;
  readonly config: OperatorConfig;
  readonly objects: KubeObject[];
  /** Roles with a credentials Secret. */
  readonly roles: readonly string[];
  /** Password of a role from its credentials Secret. */
  password(role: string): string;
}

export function spiloManifest(spec: SpiloClusterSpec): Postgresql {
  const name = spec.name ?? 'acid-ha';
  return {
    apiVersion: 'acid.zalan.do/v1',
    kind: 'postgresql',
    metadata: { name, namespace: spec.namespace, uid: `00000000-0000-4000-8000-${randomBytes(6).toString('hex')}` },
    spec: {
      teamId: name.split('-')[0] ?? 'acid',
      numberOfInstances: spec.instances ?? 3,
      postgresql: { version: spec.version ?? '15', ...(spec.parameters === undefined ? {} : { parameters: { ...spec.parameters } }) },
      volume: { size: '1Gi' },
      ...(spec.patroni === undefined ? {} : { patroni: { ...spec.patroni } }),
      ...(spec.connectionPooler === true ? { enableConnectionPooler: true } : {}),
      ...(spec.clone === undefined ? {} : { clone: structuredClone(spec.clone) }),
      ...(spec.standby === undefined ? {} : { standby: structuredClone(spec.standby) }),
      users: Object.fromEntries(Object.entries(spec.users ?? {}).map(([k, v]) => [k, [...v]])),
      databases: { ...(spec.databases ?? {}) },
      ...structuredClone(spec.extraSpec ?? {}),
    },
  };
}

export function spiloConfig(spec: SpiloClusterSpec): OperatorConfig {
  return {
    ...structuredClone(DEFAULT_OPERATOR_CONFIG),
    nodeReadinessLabel: agentNodeLabels(),
    enableReadinessProbe: spec.readinessProbe ?? true,
    podTerminateGracePeriod: spec.podTerminateGracePeriodSeconds ?? 300,
    // The local machine has no image registry; only the name's "spilo" matters to the agent.
    dockerImage: 'ghcr.io/zalando/spilo-15:3.0-p1',
    ...(spec.podEnvironmentSecret === undefined ? {} : { podEnvironmentSecret: spec.podEnvironmentSecret.name }),
    ...(spec.config ?? {}),
  };
}

/** Builds the cluster's objects with @pgfn/builder and applies them (server-side apply). */
export async function applySpiloCluster(kc: KubeConfig, spec: SpiloClusterSpec): Promise<SpiloCluster> {
  const manifest = spiloManifest(spec);
  const config = spiloConfig(spec);
  if (!config.kubernetesUseConfigmaps) {
    // Patroni would publish the master through the Endpoints object, which cannot hold the pods'
    // loopback addresses (see resolver.ts): the master Service would never resolve.
    throw new Error(
      "config.kubernetesUseConfigmaps is false: Patroni's Endpoints DCS mode is not supported on the node agent " +
        '(pods have loopback addresses, which Endpoints cannot hold); keep the ConfigMaps default',
    );
  }
  let counter = 0;
  const existingSecrets = new Map<string, V1Secret>();
  for (const role of spec.credentialsOf?.roles ?? []) {
    const name = secretName(role, manifest.metadata.name ?? '', config);
    const b64 = (v: string): string => Buffer.from(v).toString('base64');
    existingSecrets.set(name, {
      metadata: { name, namespace: spec.namespace },
      data: { username: b64(role), password: b64(spec.credentialsOf?.password(role) ?? '') },
    });
  }
  const result = buildCluster({
    cluster: manifest,
    config,
    existingSecrets,
    now: new Date(),
    newPassword: () => `${randomBytes(12).toString('hex')}${counter++}`,
    ...(spec.podEnvironmentSecret === undefined ? {} : { podEnvironment: { secret: spec.podEnvironmentSecret.data } }),
  });
  const errors = result.errors.filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`the test manifest does not build: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  const kube = new KubeClient(kc);
  await kube.apply(postgresPodClusterRole(config.podServiceAccountName));
  if (spec.podEnvironmentSecret !== undefined) {
    await kube.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: spec.podEnvironmentSecret.name, namespace: spec.namespace },
      stringData: { ...spec.podEnvironmentSecret.data },
    } as KubeObject);
  }
  // The logical-backup CronJob runs only where a test asks for it.
  const objects = result.objects.filter((o) => o.kind !== 'CronJob' || spec.withCronJob === true);
  for (const obj of objects) await kube.apply(obj);
  const passwords = new Map<string, string>();
  for (const obj of objects) {
    if (obj.kind !== 'Secret') continue;
    const data = obj as { stringData?: Record<string, string>; data?: Record<string, string> };
    const user = data.stringData?.['username'] ?? decode(data.data?.['username']);
    const password = data.stringData?.['password'] ?? decode(data.data?.['password']);
    if (user !== undefined && password !== undefined) passwords.set(user, password);
  }
  return {
    name: manifest.metadata.name ?? '',
    namespace: spec.namespace,
    manifest,
    config,
    objects,
    roles: [...passwords.keys()],
    password: (role) => {
      const value = passwords.get(role);
      if (value === undefined) throw new Error(`no credentials Secret for role ${role}; known: ${[...passwords.keys()].join(', ')}`);
      return value;
    },
  };
}

function decode(value: string | undefined): string | undefined {
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

export interface MemberView {
  readonly name: string;
  readonly ip: string | undefined;
  readonly role: string | undefined;
  readonly ready: boolean;
  readonly uid: string;
  readonly restarts: number;
}

/** The cluster's pods with the role label Patroni set and the readiness the agent reported. */
export async function clusterMembers(kc: KubeConfig, namespace: string, cluster: string): Promise<MemberView[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const pods = await core.listNamespacedPod({ namespace, labelSelector: `application=spilo,cluster-name=${cluster}` });
  return pods.items
    .map((p: V1Pod) => ({
      name: p.metadata?.name ?? '',
      ip: p.status?.podIP,
      role: p.metadata?.labels?.['spilo-role'],
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      uid: p.metadata?.uid ?? '',
      restarts: p.status?.containerStatuses?.reduce((n, c) => n + c.restartCount, 0) ?? 0,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
