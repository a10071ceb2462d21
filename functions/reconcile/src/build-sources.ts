import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { OperatorConfig } from '@pgfn/api';
import type { InfrastructureUser, PodEnvironmentData } from '@pgfn/builder';
import type { KubeClient } from '@pgfn/kube';
import { infrastructureRoleDefinitions, readInfrastructureRoles } from '@pgfn/roles';

/** What the builder needs read from other objects, for every cluster of one namespace. */
export interface BuildSources {
  readonly podEnvironment?: PodEnvironmentData;
  readonly logicalBackupEnvironmentSecret?: Readonly<Record<string, string>>;
  /** Infrastructure roles of the configuration, read once per batch (their credentials Secrets follow them). */
  readonly infrastructureRoles?: readonly InfrastructureUser[];
}

/**
 * Reads the objects the configuration names for pod and logical-backup environments, once per
 * batch: `pod_environment_configmap` (its namespace, or the cluster's), `pod_environment_secret`
 * and `logical_backup_cronjob_environment_secret` (the cluster's namespace), as upstream does.
 * A configured object that does not exist is an error naming it: pods built without the variables
 * an administrator asked for would be wrong, so nothing is built.
 */
export async function readBuildSources(kube: KubeClient, namespace: string, config: OperatorConfig): Promise<BuildSources> {
  const cmRef = config.podEnvironmentConfigmap;
  const settled = await Promise.allSettled([
    cmRef === undefined || cmRef.name === ''
      ? undefined
      : required(
          kube.get<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: cmRef.namespace || namespace, name: cmRef.name }),
          `pod_environment_configmap ${cmRef.namespace || namespace}/${cmRef.name}`,
        ).then((cm) => cm.data ?? {}),
    config.podEnvironmentSecret === ''
      ? undefined
      : required(
          kube.get<V1Secret>({ apiVersion: 'v1', kind: 'Secret', namespace, name: config.podEnvironmentSecret }),
          `pod_environment_secret ${namespace}/${config.podEnvironmentSecret}`,
        ).then((s) => s.data ?? {}),
    config.logicalBackupCronjobEnvironmentSecret === ''
      ? undefined
      : required(
          kube.get<V1Secret>({ apiVersion: 'v1', kind: 'Secret', namespace, name: config.logicalBackupCronjobEnvironmentSecret }),
          `logical_backup_cronjob_environment_secret ${namespace}/${config.logicalBackupCronjobEnvironmentSecret}`,
        ).then((s) => s.data ?? {}),
  ]);
  const missing = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).message);
  if (missing.length > 0) throw new Error(missing.join('; '));
  const [configMap, secret, backupSecret] = settled.map((r) => (r as PromiseFulfilledResult<Record<string, string> | undefined>).value);
  const infrastructure = infrastructureRoleDefinitions(config).length === 0 ? undefined : await readInfrastructureRoles(kube, config);
  const podEnvironment =
    configMap === undefined && secret === undefined
      ? undefined
      : { ...(configMap === undefined ? {} : { configMap }), ...(secret === undefined ? {} : { secret }) };
  return {
    ...(podEnvironment === undefined ? {} : { podEnvironment }),
    ...(backupSecret === undefined ? {} : { logicalBackupEnvironmentSecret: backupSecret }),
    ...(infrastructure === undefined ? {} : { infrastructureRoles: infrastructure.roles }),
  };
}

async function required<T>(read: Promise<T | undefined>, what: string): Promise<T> {
  const got = await read;
  if (got === undefined) throw new Error(`${what} is configured but does not exist`);
  return got;
}
