// Credentials Secrets `<user>.<cluster>.credentials.postgresql.acid.zalan.do` (upstream
// generateUserSecrets and generateSingleUserSecret in pkg/cluster/k8sres.go; what they hold over time
// in password-rotation.ts). Keys: username, password and, while rotation applies, nextRotation.
import { Buffer } from 'node:buffer';
import type { V1Secret } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { clusterNamespace, type BuildInputs } from './inputs.js';
import { objectLabels } from './labels.js';
import { clusterName, secretName } from './names.js';
import { clusterObjectMeta } from './object-meta.js';
import { isStandbyCluster } from './instances.js';
import {
  decideCredentials,
  type CredentialOutcome,
  type PasswordPods,
  type RotationContext,
  type SecretData,
} from './password-rotation.js';
import { poolerSelectorLabels } from './pooler-labels.js';
import { secretHolders } from './secret-holders.js';
import { desiredUsers, needsSecret, type PgUser } from './users.js';

/** One role's credentials as its Secret will hold them. */
export interface UserCredentials {
  readonly user: PgUser;
  readonly secretName: string;
  readonly namespace: string;
  /** The login name in the Secret: the role itself, or its current rotation user. */
  readonly username: string;
  readonly password: string;
  readonly outcome: CredentialOutcome;
  /** Why the Secret changes in this build; empty when it stays as it is. */
  readonly reasons: readonly string[];
  readonly cleanUpRotationUsersOf?: string;
  /** Running pods that hold the previous password of this role and must be replaced. */
  readonly restartPods?: PasswordPods;
  /** Why the Secret cannot do what the manifest asks (a conflict, a rotation user name too long). */
  readonly problem?: string;
}

export interface UserSecrets {
  readonly secrets: V1Secret[];
  /** By role name. */
  readonly credentials: ReadonlyMap<string, UserCredentials>;
}

/** The name of a role's credentials Secret in this cluster. */
export function credentialSecretName(cluster: Postgresql, config: OperatorConfig, username: string): string {
  return secretName(username, clusterName(cluster), config);
}

/** username/password/nextRotation of an existing Secret, decoded; undefined when it has no username. */
export function readSecretData(secret: V1Secret | undefined): SecretData | undefined {
  if (secret === undefined) return undefined;
  const get = (key: string): string | undefined => {
    const encoded = secret.data?.[key];
    return encoded !== undefined ? Buffer.from(encoded, 'base64').toString('utf8') : secret.stringData?.[key];
  };
  const username = get('username');
  if (username === undefined) return undefined;
  const nextRotation = get('nextRotation');
  const data: SecretData = { username, password: get('password') ?? '' };
  return nextRotation === undefined ? data : { ...data, nextRotation };
}

/** Secret `data` (base64), keys in a fixed order. */
export function encodeData(values: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) out[key] = Buffer.from(value, 'utf8').toString('base64');
  }
  return out;
}

/**
 * Credentials and Secrets of every role that logs in with a password, sorted by role name. Roles
 * whose names differ only in "-" versus "_" share one Secret name; only one of them can have it
 * (secret-holders.ts), the others are reported as conflicts.
 */
export function buildUserSecrets(inputs: BuildInputs): UserSecrets {
  const { cluster, config } = inputs;
  const credentials = new Map<string, UserCredentials>();
  const secrets: V1Secret[] = [];
  const users = desiredUsers(cluster, config, inputs.infrastructureRoles).filter(needsSecret);
  const current = new Map(users.map((user) => [user.name, currentData(user, inputs)]));
  const holders = secretHolders(
    users.map((user) => ({
      role: user.name,
      origin: user.origin,
      secret: `${user.namespace}/${credentialSecretName(cluster, config, user.name)}`,
      held: current.get(user.name)?.username,
    })),
  );
  const ctx: RotationContext = {
    spec: cluster.spec,
    config,
    standby: isStandbyCluster(cluster),
    now: inputs.now,
    newPassword: inputs.newPassword,
  };
  for (const user of users) {
    const name = credentialSecretName(cluster, config, user.name);
    const base = { user, secretName: name, namespace: user.namespace };
    if (holders.get(`${user.namespace}/${name}`) !== user.name) {
      credentials.set(user.name, { ...base, username: user.name, password: '', outcome: 'conflict', reasons: [] });
      continue;
    }
    const decision = decideCredentials(user, current.get(user.name), ctx);
    credentials.set(user.name, {
      ...base,
      username: decision.data.username,
      password: decision.data.password,
      outcome: decision.outcome,
      reasons: decision.reasons,
      ...(decision.cleanUpRotationUsersOf === undefined ? {} : { cleanUpRotationUsersOf: decision.cleanUpRotationUsersOf }),
      ...(decision.restartPods === undefined ? {} : { restartPods: decision.restartPods }),
      ...(decision.problem === undefined ? {} : { problem: decision.problem }),
    });
    secrets.push(userSecret(cluster, config, { user, name, data: decision.data }));
  }
  return { secrets, credentials };
}

/** The content of the role's existing Secret; a Secret of that name in another namespace is not its. */
function currentData(user: PgUser, inputs: BuildInputs): SecretData | undefined {
  const existing = inputs.existingSecrets.get(credentialSecretName(inputs.cluster, inputs.config, user.name));
  const sameNamespace = existing?.metadata?.namespace === undefined || existing.metadata.namespace === user.namespace;
  return sameNamespace ? readSecretData(existing) : undefined;
}

function userSecret(cluster: Postgresql, config: OperatorConfig, secret: { user: PgUser; name: string; data: SecretData }): V1Secret {
  const { user, name, data } = secret;
  // A Secret in another namespace cannot have an owner in this one.
  const owned = !(config.enableCrossNamespaceSecret && user.namespace !== clusterNamespace(cluster));
  const labels = user.origin === 'connection-pooler' ? poolerSelectorLabels(cluster, config, 'master') : objectLabels(cluster, config);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: clusterObjectMeta(cluster, config, { name, namespace: user.namespace, labels, owned }),
    type: 'Opaque',
    data: encodeData({ username: data.username, password: data.password, nextRotation: data.nextRotation }),
  };
}
