// Credentials Secrets and password rotation, decided without I/O: the caller reads the Secrets named
// by credentialSecretRefs(), hands their content in, writes back what planCredentials() says, and
// only then syncs the database with the login names and passwords the plan settled on.
// Rules from upstream pkg/cluster/sync.go (syncSecrets, updateSecret, checkForPasswordRotation,
// rotatePasswordInSecret), k8sres.go (generateSingleUserSecret) and docs/administrator.md.
import type { PostgresSpec } from '@pgfn/api';
import { secretName } from '@pgfn/builder';
import type { Problem, RoleSpec, RolesConfig } from './model.js';
import { ROLE_ORIGINS } from './model.js';
import { rotationUserName } from './names.js';
import { identifierProblem } from './quote.js';
import type { RoleModel } from './role-specs.js';

/** The keys of a credentials Secret (decoded). */
export interface SecretContent {
  readonly username: string;
  readonly password: string;
  /** RFC 3339; absent or '' when the Secret is not rotated. */
  readonly nextRotation?: string;
}

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
  /** In-place rotation of a system user: these pods must be replaced to pick up the new password. */
  readonly rollPods?: 'postgres' | 'pooler';
  /** Set when the Secret cannot be synced; the role is then left alone in the database too. */
  readonly error?: string;
}

export type RotationSpec = Pick<PostgresSpec, 'usersWithSecretRotation' | 'usersWithInPlaceSecretRotation' | 'usersIgnoringSecretRotation'>;

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

const DAY_MS = 86_400_000;

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
  const owners = secretOwners(input.model, input.config);
  for (const ref of credentialSecretRefs(input.model, input.config)) {
    const role = input.model.roles.get(ref.role);
    if (role === undefined) continue;
    const owner = owners.get(`${ref.namespace}/${ref.name}`);
    if (owner !== undefined && owner !== ref.role) {
      const error = `the Secret ${ref.namespace}/${ref.name} belongs to role ${JSON.stringify(owner)}, whose name makes the same Secret name`;
      problems.push({ level: 'error', path: `role ${JSON.stringify(ref.role)}`, message: `${error}; the role is left alone` });
      credentials.set(ref.role, { ...ref, content: { username: ref.role, password: '' }, write: 'none', reasons: [], login: { username: ref.role, password: '' }, error });
      continue;
    }
    credentials.set(ref.role, planOne(role, ref, input, problems));
  }
  return { credentials, problems };
}

/**
 * Roles whose names differ only in "-" versus "_" share one Secret name. The role of the higher
 * origin keeps it (prepared-database users beat manifest users), on equal origins the first by
 * name; upstream lets whichever is synced first win and fails the other on every sync.
 */
function secretOwners(model: RoleModel, config: RolesConfig): Map<string, string> {
  const byName = new Map<string, RoleSpec[]>();
  for (const ref of credentialSecretRefs(model, config)) {
    const role = model.roles.get(ref.role);
    if (role === undefined) continue;
    const key = `${ref.namespace}/${ref.name}`;
    byName.set(key, [...(byName.get(key) ?? []), role]);
  }
  const owners = new Map<string, string>();
  for (const [key, roles] of byName) {
    const [first] = [...roles].sort((a, b) => ROLE_ORIGINS.indexOf(b.origin) - ROLE_ORIGINS.indexOf(a.origin) || (a.name < b.name ? -1 : 1));
    if (first !== undefined) owners.set(key, first.name);
  }
  return owners;
}

function planOne(role: RoleSpec, ref: SecretRef, input: CredentialsInput, problems: Problem[]): CredentialPlan {
  const existing = input.secrets.get(role.name);
  if (existing === undefined) {
    const password = role.password ?? input.newPassword();
    return { ...ref, content: { username: role.name, password }, write: 'create', reasons: ['the Secret does not exist'], login: { username: role.name, password } };
  }
  const state: MutableSecret = { content: { ...existing }, reasons: [] };
  if (input.standby !== true) {
    const error = checkRotation(role, state, input, problems);
    if (error !== undefined) return { ...ref, content: existing, write: 'none', reasons: [], login: { username: role.name, password: existing.password }, error };
  }
  let login = { username: state.content.username, password: state.content.password };
  // Infrastructure passwords come from the infrastructure: the Secret follows them, never the reverse.
  if (role.origin === 'infrastructure' && role.password !== undefined && role.password !== state.content.password) {
    state.content = { username: role.name, password: role.password };
    state.reasons.push('the infrastructure role has a new password');
    login = { username: role.name, password: role.password };
  }
  return {
    ...ref, content: state.content, write: state.reasons.length > 0 ? 'update' : 'none', reasons: state.reasons, login,
    ...(state.rollPods !== undefined ? { rollPods: state.rollPods } : {}),
  };
}

interface MutableSecret {
  content: SecretContent;
  reasons: string[];
  rollPods?: 'postgres' | 'pooler';
}

/** Rotates when due; resets a Secret left with a rotation user after rotation was switched off. */
function checkRotation(role: RoleSpec, state: MutableSecret, input: CredentialsInput, problems: Problem[]): string | undefined {
  const name = role.name;
  const inManifest = (input.spec.usersWithSecretRotation ?? []).includes(name) || (input.spec.usersWithInPlaceSecretRotation ?? []).includes(name);
  // Globally enabled rotation covers manifest users and prepared-database users that own nothing.
  const allowed = !role.isDbOwner && (role.origin === 'manifest' || role.origin === 'bootstrap');
  const ignoring = (input.spec.usersIgnoringSecretRotation ?? []).includes(name);
  if (((input.config.enablePasswordRotation && allowed) || inManifest) && !ignoring) {
    rotate(role, state, input, problems);
    return undefined;
  }
  if (state.content.username === name) return undefined;
  // Two names that make the same Secret name (foo-bar vs foo_bar) cannot share it.
  if (state.content.username.replaceAll('-', '_') === name.replaceAll('-', '_')) {
    return `the Secret belongs to user ${JSON.stringify(state.content.username)}, not ${JSON.stringify(name)}: both names make the same Secret name`;
  }
  const previous = state.content.username;
  state.content = { username: name, password: input.newPassword(), nextRotation: '' };
  state.reasons.push(`the Secret named rotation user ${JSON.stringify(previous)} but rotation is off: back to ${JSON.stringify(name)} with a new password`);
  return undefined;
}

function rotate(role: RoleSpec, state: MutableSecret, input: CredentialsInput, problems: Problem[]): void {
  const { now, config } = input;
  const name = role.name;
  const intervalMs = config.passwordRotationInterval * DAY_MS;
  const nextDue = new Date(now.getTime() + intervalMs);
  let next = parseRfc3339(state.content.nextRotation);
  if (next === undefined) {
    next = nextDue;
    state.content = { ...state.content, nextRotation: formatRfc3339(next) };
    state.reasons.push(`no rotation date in the Secret: first rotation at ${formatRfc3339(next)}`);
  }
  // A shortened interval takes effect at once: the Secret gets the earlier date (upstream computes
  // the earlier date but never stores it, so there it has no effect).
  if (next > nextDue) {
    next = nextDue;
    state.content = { ...state.content, nextRotation: formatRfc3339(next) };
    state.reasons.push(`the rotation interval is shorter now: next rotation ${formatRfc3339(next)}`);
  }

  const inPlace = (input.spec.usersWithInPlaceSecretRotation ?? []).includes(name);
  const expected = inPlace ? name : rotationUserName(name, now);
  if (!inPlace && identifierProblem(expected) !== undefined) {
    problems.push({ level: 'error', path: `rotation of ${JSON.stringify(name)}`, message: `rotation user ${JSON.stringify(expected)} ${identifierProblem(expected)}; not rotated` });
    return;
  }
  // Switching to in-place rotation takes effect at once; the other way waits for the next date.
  const modeChanged = state.content.username.length > expected.length;
  if (now.getTime() <= next.getTime() && !modeChanged) return;
  if (inPlace) {
    if (role.origin === 'system') state.rollPods = 'postgres';
    if (role.origin === 'connection-pooler') state.rollPods = 'pooler';
  }
  state.content = { username: expected, password: input.newPassword(), nextRotation: formatRfc3339(nextDue) };
  state.reasons.push(inPlace
    ? `password rotated in place; next rotation ${formatRfc3339(nextDue)}`
    : `rotated to user ${JSON.stringify(expected)}; next rotation ${formatRfc3339(nextDue)}`);
}

/** `2006-01-02T15:04:05Z` as Go's time.RFC3339 formats a UTC time. */
export function formatRfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function parseRfc3339(text: string | undefined): Date | undefined {
  if (text === undefined || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
