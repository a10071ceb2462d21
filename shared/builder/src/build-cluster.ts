// All objects of one cluster, in the order they are applied: the pod ServiceAccount and RoleBinding,
// credentials Secrets, Services, Endpoints, PodDisruptionBudgets, the StatefulSet, the poolers
// (userlist Secret, Deployment, Service per role) and the logical backup CronJob. Nothing is built
// when validation finds an error; warnings travel with the objects.
import type { KubernetesObject } from '@kubernetes/client-node';
import { buildMasterEndpoints } from './endpoints.js';
import type { BuildInputs, KubeObject } from './inputs.js';
import type { PostgresRole } from './labels.js';
import { buildLogicalBackupCronJob } from './logical-backup.js';
import { normalizeCluster } from './normalize.js';
import { passwordChanges, type PasswordChange } from './password-changes.js';
import { buildPdbs } from './pdb.js';
import { buildPodRoleBinding, buildPodServiceAccount } from './pod-service-account.js';
import { buildPoolerAuthSecret, buildPoolerDeployment } from './pooler.js';
import { buildPoolerService } from './pooler-service.js';
import { poolerUser } from './pooler-settings.js';
import { buildUserSecrets, type UserCredentials } from './secrets.js';
import { buildServices } from './services.js';
import { buildStatefulSetResult } from './statefulset.js';
import { isBuildable, validateCluster, type ValidationError } from './validation.js';

export interface BuildResult {
  /** Desired objects in apply order; empty when `errors` holds an error. */
  readonly objects: KubeObject[];
  /** Validation errors and warnings (severity says which). */
  readonly errors: ValidationError[];
  /** The credentials the Secrets hold, by role name (for the role sync). */
  readonly credentials: ReadonlyMap<string, UserCredentials>;
  /**
   * The credentials that get a new password in this build and why, by role name. Pass them to
   * mustMarkPodsForRotation: an existing system user's new password obliges a pod rotation.
   */
  readonly passwordChanges: readonly PasswordChange[];
}

export function buildCluster(raw: BuildInputs): BuildResult {
  const inputs: BuildInputs = { ...raw, cluster: normalizeCluster(raw.cluster) };
  const errors = validateCluster(inputs.cluster, inputs.config);
  if (!isBuildable(errors)) return { objects: [], errors, credentials: new Map(), passwordChanges: [] };
  try {
    return buildObjects(inputs, errors);
  } catch (err) {
    // Validation should have caught it; report rather than crash the caller.
    const failure: ValidationError = { path: 'spec', message: (err as Error).message, severity: 'error' };
    return { objects: [], errors: [...errors, failure], credentials: new Map(), passwordChanges: [] };
  }
}

function buildObjects(inputs: BuildInputs, warnings: ValidationError[]): BuildResult {
  const { cluster, config } = inputs;
  const users = buildUserSecrets(inputs);
  const sts = buildStatefulSetResult(cluster, config, inputs.podEnvironment);
  const pooler = users.credentials.get(poolerUser(cluster.spec, config));
  const poolerObjects = (['master', 'replica'] as PostgresRole[]).flatMap((role) => [
    pooler === undefined ? undefined : buildPoolerAuthSecret(cluster, config, role, pooler),
    buildPoolerDeployment(cluster, config, role),
    buildPoolerService(cluster, config, role),
  ]);
  const objects = [
    buildPodServiceAccount(cluster, config),
    buildPodRoleBinding(cluster, config),
    ...users.secrets,
    ...buildServices(cluster, config),
    buildMasterEndpoints(cluster, config),
    ...buildPdbs(cluster, config),
    sts.statefulSet,
    ...poolerObjects,
    buildLogicalBackupCronJob(cluster, config, inputs.logicalBackupEnvironmentSecret),
  ].filter((o): o is KubernetesObject => o !== undefined) as KubeObject[];
  const stsWarnings = sts.warnings.map((message): ValidationError => ({ path: 'spec', message, severity: 'warning' }));
  return {
    objects,
    errors: [...warnings, ...stsWarnings, ...credentialWarnings(users.credentials.values())],
    credentials: users.credentials,
    passwordChanges: passwordChanges(users.credentials.values()),
  };
}

function credentialWarnings(credentials: Iterable<UserCredentials>): ValidationError[] {
  const out: ValidationError[] = [];
  for (const c of credentials) {
    const path = `secret ${c.secretName}`;
    if (c.outcome === 'conflict') {
      out.push({
        path,
        message:
          `The role "${c.user.name}" cannot have its own credentials: the Secret ${c.secretName} belongs to a ` +
          `role whose name differs only in "-" versus "_", and is left as it is.`,
        severity: 'warning',
      });
    } else if (c.problem !== undefined) {
      out.push({ path, message: `The password of role "${c.user.name}" is not rotated: ${c.problem}.`, severity: 'warning' });
    }
  }
  return out;
}
