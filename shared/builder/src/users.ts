// The Postgres roles a cluster's manifest and configuration ask for, without passwords (upstream
// initSystemUsers, initPreparedDatabaseRoles, initDefaultRoles, initRobotUsers,
// initAdditionalOwnerRoles, resolveNameConflict and shouldAvoidProtectedOrSystemRole in
// pkg/cluster/cluster.go; isValidUsername and normalizeUserFlags in pkg/cluster/util.go; names and
// suffixes in pkg/util/constants/roles.go and streams.go). Team members (Teams API, PostgresTeam) are
// not included; infrastructure roles are, when the caller read them (upstream initInfrastructureRoles).
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { clusterNamespace } from './inputs.js';
import { needPooler, poolerUser } from './pooler-settings.js';
import { preparedDatabaseRoles, sortedEntries } from './prepared-roles.js';

/** Where a role comes from; a later entry wins a name conflict (upstream RoleOrigin order). */
export const ROLE_ORIGINS = ['manifest', 'infrastructure', 'teams-api', 'system', 'bootstrap', 'connection-pooler', 'stream'] as const;
export type RoleOrigin = (typeof ROLE_ORIGINS)[number];

export interface PgUser {
  readonly name: string;
  /** Namespace of the user's credentials Secret. */
  readonly namespace: string;
  readonly origin: RoleOrigin;
  /** Normalised, sorted role options; NOLOGIN is kept only for bootstrapped group roles. */
  readonly flags: readonly string[];
  readonly memberOf: readonly string[];
  readonly adminRole: string;
  readonly isDbOwner: boolean;
  readonly parameters?: Readonly<Record<string, string>>;
  /** The password an infrastructure role's Secret gives; its credentials Secret follows it. */
  readonly password?: string;
}

/** An infrastructure role as read from the configured Secrets (and ConfigMaps). */
export interface InfrastructureUser {
  readonly name: string;
  readonly password: string;
  readonly memberOf?: readonly string[];
  readonly flags?: readonly string[];
  readonly parameters?: Readonly<Record<string, string>>;
  readonly adminRole?: string;
}

/** The user events streams replicate with (upstream EventStreamSourceSlotPrefix + UserRoleNameSuffix). */
export const STREAM_USER_NAME = 'fes_user';

/** Lower-case words joined by '-' or '_', optionally `namespace.` prefixed (upstream userRegexp). */
export const USER_NAME_PATTERN = /^[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*$/;
const FLAG_WORD = /^[a-zA-Z][a-zA-Z0-9]*$/;
const KNOWN_FLAGS = ['SUPERUSER', 'LOGIN', 'CREATEDB', 'INHERIT', 'REPLICATION', 'BYPASSRLS', 'CREATEROLE'];

export function isValidUsername(name: string): boolean {
  return USER_NAME_PATTERN.test(name);
}

export type NormalizedFlags = { readonly ok: true; readonly flags: string[] } | { readonly ok: false; readonly reason: string };

/**
 * Upper-cases and checks role options. LOGIN is added unless LOGIN or NOLOGIN is given; NOLOGIN itself
 * is dropped, matching what the role sync reads back from Postgres.
 */
export function normalizeUserFlags(flags: readonly string[] | null | undefined): NormalizedFlags {
  const unique = new Set<string>();
  for (const raw of flags ?? []) {
    if (!FLAG_WORD.test(raw)) return { ok: false, reason: `the option "${raw}" is not a single word of letters and digits` };
    const flag = raw.toUpperCase();
    if (unique.has(flag)) continue;
    if (!KNOWN_FLAGS.some((k) => flag === k || flag === `NO${k}`)) return { ok: false, reason: `the option "${raw}" is not a role option` };
    const inverse = flag.startsWith('NO') ? flag.slice(2) : `NO${flag}`;
    if (unique.has(inverse)) return { ok: false, reason: `the options ${inverse} and ${flag} contradict each other` };
    unique.add(flag);
  }
  const out = [...unique].filter((f) => f !== 'NOLOGIN');
  if (!unique.has('LOGIN') && !unique.has('NOLOGIN')) out.push('LOGIN');
  return { ok: true, flags: out.sort() };
}

/** The operator's own roles: superuser, replication user, pooler user and stream user when needed. */
export function systemUsers(cluster: Postgresql, config: OperatorConfig): PgUser[] {
  const namespace = clusterNamespace(cluster);
  const base = { namespace, origin: 'system' as const, memberOf: [], adminRole: '', isDbOwner: false };
  const users: PgUser[] = [
    { ...base, name: config.superUsername, flags: [] },
    { ...base, name: config.replicationUsername, flags: ['LOGIN'] },
  ];
  if (needPooler(cluster.spec))
    users.push({ ...base, name: poolerUser(cluster.spec, config), origin: 'connection-pooler', flags: ['LOGIN'] });
  if ((cluster.spec.streams ?? []).length > 0)
    users.push({ ...base, name: STREAM_USER_NAME, origin: 'stream', flags: ['LOGIN', 'REPLICATION'] });
  return users;
}

/**
 * Why a manifest role is ignored: it carries a protected or a system role's name. Pass the system
 * users when checking many names, so they are worked out once.
 */
export function reservedRoleReason(
  name: string,
  cluster: Postgresql,
  config: OperatorConfig,
  system: readonly PgUser[] = systemUsers(cluster, config),
): string | undefined {
  if (config.protectedRoleNames.includes(name)) return 'it is a protected role name (configuration protected_role_names)';
  if (system.some((u) => u.name === name)) return 'the operator uses this name for its own role';
  return undefined;
}

/** Roles from spec.users; invalid or reserved names and invalid options are left out (validation reports them). */
export function manifestUsers(cluster: Postgresql, config: OperatorConfig): PgUser[] {
  const owners = new Set(Object.values(cluster.spec.databases ?? {}));
  const system = systemUsers(cluster, config);
  const out: PgUser[] = [];
  for (const [name, rawFlags] of sortedEntries(cluster.spec.users ?? {})) {
    const flags = normalizeUserFlags(rawFlags);
    if (!isValidUsername(name) || !flags.ok || reservedRoleReason(name, cluster, config, system) !== undefined) continue;
    // With cross-namespace secrets, "team-ns.app_user" keeps its Secret in namespace "team-ns".
    const dot = name.indexOf('.');
    const namespace = config.enableCrossNamespaceSecret && dot > 0 ? name.slice(0, dot) : clusterNamespace(cluster);
    out.push({
      name,
      namespace,
      origin: 'manifest',
      flags: flags.flags,
      memberOf: [],
      adminRole: config.enableAdminRoleForUsers ? config.teamAdminRole : '',
      isDbOwner: owners.has(name),
    });
  }
  return out;
}

/**
 * Every role with its winning definition, by name: prepared-database roles and manifest roles
 * (the higher origin wins a conflict), then the system roles over both. Database owners also join
 * config additional_owner_roles. Sorted by name.
 */
export function desiredUsers(cluster: Postgresql, config: OperatorConfig, infrastructure: readonly InfrastructureUser[] = []): PgUser[] {
  const byName = new Map<string, PgUser>();
  const roles = [
    ...infrastructureUsers(cluster, config, infrastructure),
    ...preparedDatabaseRoles(cluster, config),
    ...manifestUsers(cluster, config),
  ];
  for (const user of roles) {
    const current = byName.get(user.name);
    if (current === undefined || rank(user.origin) >= rank(current.origin)) byName.set(user.name, user);
  }
  for (const [name, user] of byName) {
    if (user.isDbOwner && config.additionalOwnerRoles.length > 0) {
      byName.set(name, { ...user, memberOf: [...user.memberOf, ...config.additionalOwnerRoles] });
    }
  }
  for (const user of systemUsers(cluster, config)) byName.set(user.name, user);
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Infrastructure roles with a valid name that is not reserved, a password and valid options; their
 * Secret lives in the cluster's namespace (upstream initInfrastructureRoles). The others are left
 * out (the reader reports why).
 */
export function infrastructureUsers(cluster: Postgresql, config: OperatorConfig, roles: readonly InfrastructureUser[]): PgUser[] {
  const system = systemUsers(cluster, config);
  const out: PgUser[] = [];
  for (const role of roles) {
    const flags = normalizeUserFlags(role.flags);
    if (!isValidUsername(role.name) || role.password === '' || !flags.ok) continue;
    if (reservedRoleReason(role.name, cluster, config, system) !== undefined) continue;
    out.push({
      name: role.name,
      namespace: clusterNamespace(cluster),
      origin: 'infrastructure',
      flags: flags.flags,
      memberOf: [...(role.memberOf ?? [])],
      adminRole: role.adminRole ?? '',
      isDbOwner: false,
      password: role.password,
      ...(role.parameters === undefined ? {} : { parameters: role.parameters }),
    });
  }
  return out;
}

/** A credentials Secret exists for every role but bootstrapped NOLOGIN group roles and team members. */
export function needsSecret(user: PgUser): boolean {
  return user.origin !== 'teams-api' && !user.flags.includes('NOLOGIN');
}

function rank(origin: RoleOrigin): number {
  return ROLE_ORIGINS.indexOf(origin);
}
