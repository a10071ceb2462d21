// Every role a cluster should have, from the manifest and the operator configuration, merged the way
// upstream's initUsers does it (pkg/cluster/cluster.go: initSystemUsers, initInfrastructureRoles,
// initPreparedDatabaseRoles, initRobotUsers, initAdditionalOwnerRoles; resolveNameConflict).
// Teams API roles are not part of this model.
import type { PostgresSpec } from '@pgfn/api';
import { normalizeFlags } from './flags.js';
import type { Problem, RoleOrigin, RoleSpec, RolesConfig, SystemUserKey } from './model.js';
import { ROLE_ORIGINS } from './model.js';
import { parameterNameProblem, STREAM_USER, userNameProblem } from './names.js';
import { preparedDatabaseRoles } from './prepared-databases.js';
import { identifierProblem } from './quote.js';

/** An infrastructure role as read from its Secret (and ConfigMap) by the caller. */
export interface InfrastructureRoleInput {
  readonly name: string;
  readonly password: string;
  readonly memberOf?: readonly string[];
  /** Manifest-style flags ("createdb", "nologin" …); LOGIN unless NOLOGIN. */
  readonly flags?: readonly string[];
  readonly parameters?: Readonly<Record<string, string>>;
  readonly adminRole?: string;
}

/** The parts of a postgresql object the role model reads. */
export interface RoleCluster {
  readonly metadata: { readonly name?: string; readonly namespace?: string };
  readonly spec: Pick<
    PostgresSpec,
    | 'users'
    | 'databases'
    | 'preparedDatabases'
    | 'enableConnectionPooler'
    | 'enableReplicaConnectionPooler'
    | 'connectionPooler'
    | 'streams'
  >;
}

export interface RoleModelInput {
  readonly cluster: RoleCluster;
  readonly config: RolesConfig;
  readonly infrastructureRoles?: readonly InfrastructureRoleInput[];
}

export interface RoleModel {
  readonly clusterName: string;
  readonly namespace: string;
  readonly roles: ReadonlyMap<string, RoleSpec>;
  readonly problems: readonly Problem[];
}

/** Builds the role model. Entries with problems are skipped and reported, never thrown. */
export function buildRoleModel(input: RoleModelInput): RoleModel {
  const { cluster, config } = input;
  const clusterName = cluster.metadata.name ?? '';
  const namespace = cluster.metadata.namespace ?? 'default';
  const problems: Problem[] = [];
  const system = systemUsers(cluster, config);
  const poolerUser = cluster.spec.connectionPooler?.user;
  if (poolerUser && userNameProblem(poolerUser) !== undefined) {
    problems.push({
      level: 'error',
      path: 'spec.connectionPooler.user',
      message: `the pooler user name ${userNameProblem(poolerUser)}; using ${JSON.stringify(config.connectionPoolerUser)}`,
    });
  }
  const avoid = avoidReserved(config, new Set([...system.values()].map((r) => r.name)), problems);
  const roles = new Map<string, RoleSpec>();
  const put = (role: RoleSpec): void => {
    const current = roles.get(role.name);
    roles.set(role.name, current === undefined ? role : resolveNameConflict(current, role));
  };

  for (const role of infrastructureRoles(input.infrastructureRoles ?? [], namespace, avoid, problems)) put(role);
  for (const role of preparedDatabaseRoles(cluster, config, namespace, problems)) put(role);
  for (const role of manifestUsers(cluster, config, { namespace, avoid, problems })) put(role);
  addOwnerRoles(roles, config.additionalOwnerRoles);
  // System users go last and always win: upstream keeps them apart and syncs them with the rest.
  for (const role of system.values()) roles.set(role.name, role);
  return { clusterName, namespace, roles, problems };
}

/** The higher origin wins; on equal origins the later definition. */
export function resolveNameConflict(current: RoleSpec, incoming: RoleSpec): RoleSpec {
  return originRank(incoming.origin) >= originRank(current.origin) ? incoming : current;
}

function originRank(origin: RoleOrigin): number {
  return ROLE_ORIGINS.indexOf(origin);
}

/** Does the cluster run a connection pooler (master or replica)? (upstream needConnectionPooler) */
export function needsConnectionPooler(spec: RoleCluster['spec']): boolean {
  const master = spec.enableConnectionPooler === true || (spec.connectionPooler !== undefined && spec.enableConnectionPooler === undefined);
  return master || spec.enableReplicaConnectionPooler === true;
}

/**
 * The pooler's role: the manifest's connectionPooler.user unless it names the superuser or a
 * protected or system role, then the configured default (upstream poolerUser).
 */
export function poolerUserName(spec: RoleCluster['spec'], config: RolesConfig): string {
  const wanted = spec.connectionPooler?.user ?? '';
  const forbidden = [config.superUsername, config.replicationUsername, ...config.protectedRoleNames];
  return wanted !== '' && !forbidden.includes(wanted) && userNameProblem(wanted) === undefined ? wanted : config.connectionPoolerUser;
}

export function poolerSchemaName(spec: RoleCluster['spec'], config: RolesConfig): string {
  const wanted = spec.connectionPooler?.schema ?? '';
  return wanted !== '' ? wanted : config.connectionPoolerSchema;
}

function systemUsers(cluster: RoleCluster, config: RolesConfig): Map<SystemUserKey, RoleSpec> {
  const namespace = cluster.metadata.namespace ?? 'default';
  const users = new Map<SystemUserKey, RoleSpec>();
  const system = (key: SystemUserKey, name: string, origin: RoleOrigin, flags: RoleSpec['flags']): void => {
    users.set(key, { name, origin, flags, memberOf: [], parameters: {}, isDbOwner: false, secretNamespace: namespace, systemKey: key });
  };
  // Patroni creates the superuser and the replication user; the operator keeps their passwords in
  // step with the Secrets. The flags are what Patroni gives them, so syncing them changes nothing.
  system('superuser', config.superUsername, 'system', { SUPERUSER: true, LOGIN: true });
  system('replication', config.replicationUsername, 'system', { LOGIN: true, REPLICATION: true });
  if (needsConnectionPooler(cluster.spec)) {
    system('pooler', poolerUserName(cluster.spec, config), 'connection-pooler', { LOGIN: true });
  }
  if ((cluster.spec.streams?.length ?? 0) > 0) system('stream', STREAM_USER, 'stream', { LOGIN: true, REPLICATION: true });
  return users;
}

type Avoid = (name: string, path: string, purpose: string) => boolean;

/** Protected and system role names cannot be taken by other roles (upstream shouldAvoidProtectedOrSystemRole). */
function avoidReserved(config: RolesConfig, systemNames: ReadonlySet<string>, problems: Problem[]): Avoid {
  return (name, path, purpose) => {
    const kind = config.protectedRoleNames.includes(name) ? 'a protected role' : systemNames.has(name) ? 'a system user' : undefined;
    if (kind === undefined) return false;
    problems.push({ level: 'warning', path, message: `${purpose} ${JSON.stringify(name)} has the name of ${kind} and is ignored` });
    return true;
  };
}

function infrastructureRoles(inputs: readonly InfrastructureRoleInput[], namespace: string, avoid: Avoid, problems: Problem[]): RoleSpec[] {
  const out: RoleSpec[] = [];
  inputs.forEach((input, i) => {
    const path = `infrastructureRoles[${i}] (${JSON.stringify(input.name)})`;
    const nameProblem = userNameProblem(input.name);
    if (nameProblem !== undefined) {
      problems.push({ level: 'error', path, message: `the infrastructure role name ${nameProblem}` });
      return;
    }
    if (avoid(input.name, path, 'infrastructure role')) return;
    if (input.password === '') {
      problems.push({ level: 'error', path, message: 'the infrastructure role has no password and is ignored' });
      return;
    }
    const flags = normalizeFlags(input.flags);
    if (flags.error !== undefined) {
      problems.push({ level: 'error', path, message: `invalid flags: ${flags.error}` });
      return;
    }
    const memberOf = validRoleNames(input.memberOf ?? [], `${path}.inrole`, problems);
    const parameters = validParameters(input.parameters ?? {}, `${path}.db_parameters`, problems);
    out.push({
      name: input.name,
      origin: 'infrastructure',
      flags: flags.flags,
      memberOf,
      parameters,
      isDbOwner: false,
      secretNamespace: namespace,
      password: input.password,
      ...(input.adminRole ? { adminRole: input.adminRole } : {}),
    });
  });
  return out;
}

function manifestUsers(
  cluster: RoleCluster,
  config: RolesConfig,
  { namespace, avoid, problems }: { namespace: string; avoid: Avoid; problems: Problem[] },
): RoleSpec[] {
  const owners = new Set(Object.values(cluster.spec.databases ?? {}));
  const out: RoleSpec[] = [];
  for (const [name, rawFlags] of sortedEntries(cluster.spec.users ?? {})) {
    const path = `spec.users[${JSON.stringify(name)}]`;
    const nameProblem = userNameProblem(name);
    if (nameProblem !== undefined) {
      problems.push({ level: 'error', path, message: `the user name ${nameProblem}` });
      continue;
    }
    if (avoid(name, path, 'manifest user')) continue;
    const flags = normalizeFlags(rawFlags);
    if (flags.error !== undefined) {
      problems.push({ level: 'error', path, message: `invalid flags for user ${JSON.stringify(name)}: ${flags.error}` });
      continue;
    }
    // With cross-namespace secrets, "ns.user" keeps its Secret in namespace "ns" (the role keeps the full name).
    const dot = name.indexOf('.');
    const secretNamespace = config.enableCrossNamespaceSecret && dot > 0 ? name.slice(0, dot) : namespace;
    out.push({
      name,
      origin: 'manifest',
      flags: flags.flags,
      memberOf: [],
      parameters: {},
      isDbOwner: owners.has(name),
      secretNamespace,
      ...(config.enableAdminRoleForUsers && config.teamAdminRole !== '' ? { adminRole: config.teamAdminRole } : {}),
    });
  }
  return out;
}

/** Database owners also get the configured additional owner roles (upstream initAdditionalOwnerRoles). */
function addOwnerRoles(roles: Map<string, RoleSpec>, additional: readonly string[]): void {
  if (additional.length === 0) return;
  for (const [name, role] of roles) {
    if (!role.isDbOwner) continue;
    roles.set(name, { ...role, memberOf: unique([...role.memberOf, ...additional]) });
  }
}

function validRoleNames(names: readonly string[], path: string, problems: Problem[]): string[] {
  return names.filter((name) => {
    const problem = identifierProblem(name);
    if (problem !== undefined) problems.push({ level: 'error', path, message: `role ${JSON.stringify(name)} ${problem}` });
    return problem === undefined;
  });
}

export function validParameters(parameters: Readonly<Record<string, string>>, path: string, problems: Problem[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of sortedEntries(parameters)) {
    const problem = parameterNameProblem(name);
    if (problem !== undefined) {
      problems.push({ level: 'error', path: `${path}[${JSON.stringify(name)}]`, message: `parameter ${JSON.stringify(name)} ${problem}` });
      continue;
    }
    if (typeof value !== 'string' || value.includes('\0')) {
      problems.push({ level: 'error', path: `${path}.${name}`, message: 'the value must be a string without NUL characters' });
      continue;
    }
    out[name] = value;
  }
  return out;
}

export function sortedEntries<T>(record: Readonly<Record<string, T>>): [string, T][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
