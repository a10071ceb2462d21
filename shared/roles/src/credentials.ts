// Credentials Secrets and password rotation for the role sync, decided without I/O: the caller reads
// the Secrets named by credentialSecretRefs(), hands their content in, writes back what
// planCredentials() says, and only then syncs the database with the login names and passwords the
// plan settled on. What a Secret must hold is decided by the builder's credential model
// (decideCredentials, secretHolders in @pgfn/builder), the same one that writes the Secrets, so
// the two never disagree (docs/adr/0010-one-credential-model.md).
import {
  decideCredentials,
  secretHolders,
  secretName,
  type PasswordPods,
  type RotationContext,
  type RotationSpec,
  type SecretData,
} from '@pgfn/builder';
import type { Problem, RoleSpec, RolesConfig } from './model.js';
import type { RoleModel } from './role-specs.js';

export { formatRfc3339, parseRfc3339, type RotationSpec } from '@pgfn/builder';

/** The keys of a credentials Secret (decoded); the builder's SecretData. */
export type SecretContent = SecretData;

export interface SecretRef {
  readonly role: string;
  readonly name: string;
  readonly namespace: string;
}

export interface CredentialPlan extends SecretRef {
  /** What the Secret must contain after this sync. */
  readonly content: SecretContent;
  readonly write: 'create' | 'update' | 'none';
  readonly reasons: readonly string[];
  /** The login the database must accept for this role: the role itself or its current rotation user. */
  readonly login: { readonly username: string; readonly password: string };
  /** A system or pooler user's own password changed (in-place rotation, reset): these pods must be replaced. */
  readonly rollPods?: PasswordPods;
  /** Set when the Secret cannot be synced; the role is then left alone in the database too. */
  readonly error?: string;
}

export interface CredentialsInput {
  readonly model: RoleModel;
  readonly spec: RotationSpec;
  readonly config: RolesConfig;
  /** Existing Secrets by role name; a role without an entry has no Secret yet. */
  readonly secrets: ReadonlyMap<string, SecretContent>;
  readonly now: Date;
  /** A fresh random password (64 alphanumerics in production). */
  readonly newPassword: () => string;
  /** Standby clusters never rotate (upstream updateSecret). */
  readonly standby?: boolean;
}

/** The Secret of every role that has one, so the caller knows what to read. */
export function credentialSecretRefs(model: RoleModel, config: RolesConfig): SecretRef[] {
  const refs: SecretRef[] = [];
  for (const role of model.roles.values()) {
    if (role.secretNamespace === undefined) continue;
    refs.push({ role: role.name, name: secretName(role.name, model.clusterName, config), namespace: role.secretNamespace });
  }
  return refs.sort((a, b) => (a.role < b.role ? -1 : 1));
}

export function planCredentials(input: CredentialsInput): { credentials: Map<string, CredentialPlan>; problems: Problem[] } {
  const credentials = new Map<string, CredentialPlan>();
  const problems: Problem[] = [];
  const owners = secretOwners(input.model, input.config, input.secrets);
  for (const ref of credentialSecretRefs(input.model, input.config)) {
    const role = input.model.roles.get(ref.role);
    if (role === undefined) continue;
    const owner = owners.get(`${ref.namespace}/${ref.name}`);
    if (owner !== undefined && owner !== ref.role) {
      const error =
        `the Secret ${ref.namespace}/${ref.name} belongs to role ${JSON.stringify(owner)}, ` + 'whose name makes the same Secret name';
      problems.push({ level: 'error', path: `role ${JSON.stringify(ref.role)}`, message: `${error}; the role is left alone` });
      credentials.set(ref.role, {
        ...ref,
        content: { username: ref.role, password: '' },
        write: 'none',
        reasons: [],
        login: { username: ref.role, password: '' },
        error,
      });
      continue;
    }
    credentials.set(ref.role, planOne(role, ref, input, problems));
  }
  return { credentials, problems };
}

/** Which role gets each Secret (`namespace/name`) when two role names make the same Secret name. */
function secretOwners(model: RoleModel, config: RolesConfig, secrets: ReadonlyMap<string, SecretContent>): Map<string, string> {
  const claims = credentialSecretRefs(model, config).flatMap((ref) => {
    const role = model.roles.get(ref.role);
    if (role === undefined) return [];
    const held = secrets.get(ref.role)?.username;
    return [{ role: ref.role, origin: role.origin, secret: `${ref.namespace}/${ref.name}`, ...(held === undefined ? {} : { held }) }];
  });
  return secretHolders(claims);
}

function planOne(role: RoleSpec, ref: SecretRef, input: CredentialsInput, problems: Problem[]): CredentialPlan {
  const existing = input.secrets.get(role.name);
  const ctx: RotationContext = {
    spec: input.spec,
    config: input.config,
    standby: input.standby === true,
    now: input.now,
    newPassword: input.newPassword,
  };
  const decision = decideCredentials(role, existing, ctx);
  if (decision.outcome === 'conflict') {
    const content = existing ?? decision.data;
    return {
      ...ref,
      content,
      write: 'none',
      reasons: [],
      login: { username: role.name, password: content.password },
      error: decision.problem ?? 'the Secret belongs to another user',
    };
  }
  if (decision.problem !== undefined) {
    problems.push({ level: 'error', path: `rotation of ${JSON.stringify(role.name)}`, message: `${decision.problem}; not rotated` });
  }
  const write = existing === undefined ? 'create' : decision.reasons.length > 0 ? 'update' : 'none';
  return {
    ...ref,
    content: decision.data,
    write,
    reasons: decision.reasons,
    login: { username: decision.data.username, password: decision.data.password },
    ...(decision.restartPods !== undefined ? { rollPods: decision.restartPods } : {}),
  };
}
