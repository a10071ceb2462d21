// The role half of the diff. Additive like upstream (pkg/util/users/users.go): roles are created
// and given what they lack; nothing is revoked or dropped except a reverse membership that would
// make a grant circular (upstream resolveOwnerMembership) and rotation users past their retention.
// Unlike upstream it compares flags, passwords (by verifying the stored hash), settings and
// memberships precisely, so a converged cluster produces no statements at all.
import { ROLE_FLAGS, type FlagSet } from './flags.js';
import type { CurrentRole, CurrentState, DesiredRole, DesiredState, Statement } from './model.js';
import { rotationUserDate } from './names.js';
import { hashPassword, storedPasswordMatches, type RandomBytes } from './password-hash.js';
import {
  alterRoleSql,
  createRoleSql,
  dropRoleSql,
  grantRoleSql,
  LIST_PARAMETERS,
  parseListValue,
  revokeRoleSql,
  scalarValue,
  setParameterSql,
  statement,
} from './sql.js';

export interface RolePlan {
  readonly creates: Statement[];
  readonly alters: Statement[];
  readonly settings: Statement[];
  readonly revokes: Statement[];
  readonly grants: Statement[];
  readonly drops: Statement[];
  readonly warnings: string[];
}

export function planRoles(desired: DesiredState, current: CurrentState, random: RandomBytes): RolePlan {
  const plan: RolePlan = { creates: [], alters: [], settings: [], revokes: [], grants: [], drops: [], warnings: [] };
  const desiredNames = new Set(desired.roles.map((r) => r.name));
  const exists = (name: string): boolean => desiredNames.has(name) || current.roles.has(name);
  for (const role of desired.roles) {
    const cur = current.roles.get(role.name);
    planRole(role, cur, { desired, plan, random });
    planSettings(role, cur, current, plan);
    planMemberships(role, current, exists, plan);
  }
  planRotationCleanup(desired, current, desiredNames, plan);
  return plan;
}

function planRole(
  role: DesiredRole,
  cur: CurrentRole | undefined,
  { desired, plan, random }: { desired: DesiredState; plan: RolePlan; random: RandomBytes },
): void {
  const method = desired.passwordEncryption;
  if (cur === undefined) {
    const hash = role.password === undefined ? undefined : hashPassword(role.password, role.name, method, random);
    plan.creates.push(
      statement({
        kind: 'create-role',
        sql: createRoleSql(role.name, role.flags, hash),
        secret: hash,
        ...(hash !== undefined ? { setsPasswordOf: role.name } : {}),
        reason: `role ${JSON.stringify(role.name)} does not exist`,
      }),
    );
    return;
  }
  const flags: FlagSet = {};
  const reasons: string[] = [];
  for (const flag of ROLE_FLAGS) {
    const want = role.flags[flag];
    if (want !== undefined && cur.flags[flag] !== want) {
      flags[flag] = want;
      reasons.push(`${want ? '' : 'NO'}${flag} is missing`);
    }
  }
  let hash: string | undefined;
  if (role.password !== undefined && !storedPasswordMatches(cur.password, role.password, role.name, method)) {
    hash = hashPassword(role.password, role.name, method, random);
    reasons.push(cur.password === null ? 'it has no password' : 'its password differs from the Secret');
  }
  if (reasons.length === 0) return;
  plan.alters.push(
    statement({
      kind: 'alter-role',
      sql: alterRoleSql(role.name, flags, hash),
      secret: hash,
      ...(hash !== undefined ? { setsPasswordOf: role.name } : {}),
      reason: `role ${JSON.stringify(role.name)}: ${reasons.join(', ')}`,
    }),
  );
}

/**
 * Enforces declared settings; settings nobody declared stay (upstream wipes them with RESET ALL, but
 * only as a side effect whenever a declared one changes).
 */
function planSettings(role: DesiredRole, cur: CurrentRole | undefined, current: CurrentState, plan: RolePlan): void {
  const wanted = role.parameters ?? inheritedSettings(role, current);
  if (wanted === undefined) return;
  const have = cur?.parameters ?? new Map<string, string>();
  const names = Object.keys(wanted).sort();
  for (const name of names) {
    const value = wanted[name] as string;
    const stored = have.get(name) ?? findCaseInsensitive(have, name);
    if (stored !== undefined && parameterEqual(name, stored, value)) continue;
    plan.settings.push(
      statement({
        kind: 'role-setting',
        sql: setParameterSql(role.name, name, value),
        reason: `role ${JSON.stringify(role.name)}: ${name} ${stored === undefined ? 'is not set' : 'differs'}`,
      }),
    );
  }
}

/** Rotation users copy the settings of their role as the catalog has them (upstream syncRoles). */
function inheritedSettings(role: DesiredRole, current: CurrentState): Record<string, string> | undefined {
  if (role.parametersFrom === undefined) return undefined;
  const from = current.roles.get(role.parametersFrom);
  if (from === undefined) return undefined;
  // Stored values are already in their final form; wrap them so that parameterValueSql keeps them.
  const out: Record<string, string> = {};
  for (const [name, value] of from.parameters) out[name] = LIST_PARAMETERS.has(name) ? value : `'${value.replaceAll("'", "''")}'`;
  return out;
}

function findCaseInsensitive(map: ReadonlyMap<string, string>, name: string): string | undefined {
  for (const [key, value] of map) if (key.toLowerCase() === name.toLowerCase()) return value;
  return undefined;
}

/** Compares a stored setting with a manifest value: lists element by element, scalars as text. */
export function parameterEqual(name: string, stored: string, value: string): boolean {
  if (LIST_PARAMETERS.has(name.toLowerCase())) {
    const trimmed = value.trim();
    const unquoted = trimmed.length >= 2 && trimmed.startsWith("'") && trimmed.endsWith("'") ? trimmed.slice(1, -1) : trimmed;
    const a = parseListValue(stored);
    const b = parseListValue(unquoted);
    return a.length === b.length && a.every((item, i) => item === b[i]);
  }
  return stored === scalarValue(value);
}

function planMemberships(role: DesiredRole, current: CurrentState, exists: (name: string) => boolean, plan: RolePlan): void {
  const cur = current.roles.get(role.name);
  for (const group of role.memberOf) {
    if (group === role.name) continue;
    if (!exists(group)) {
      plan.warnings.push(`role ${JSON.stringify(role.name)} should be a member of ${JSON.stringify(group)}, which does not exist`);
      continue;
    }
    if (cur?.memberOf.some((m) => m.role === group) === true) continue;
    // Granting group to role while role is a member of group would be circular: the reverse goes
    // first (upstream does this for additional owner roles, see its issue #1862).
    if (current.roles.get(group)?.memberOf.some((m) => m.role === role.name) === true) {
      plan.revokes.push(
        statement({
          kind: 'revoke-role',
          sql: revokeRoleSql(role.name, group),
          reason: `${JSON.stringify(group)} is a member of ${JSON.stringify(role.name)}, which would make granting it circular`,
        }),
      );
    }
    plan.grants.push(
      statement({
        kind: 'grant-role',
        sql: grantRoleSql(group, role.name, false),
        reason: `role ${JSON.stringify(role.name)} is not a member of ${JSON.stringify(group)}`,
      }),
    );
  }
  for (const admin of role.admins) {
    if (admin === role.name) continue;
    if (!exists(admin)) {
      plan.warnings.push(`role ${JSON.stringify(admin)} should administer ${JSON.stringify(role.name)} but does not exist`);
      continue;
    }
    if (current.roles.get(admin)?.memberOf.some((m) => m.role === role.name && m.admin) === true) continue;
    plan.grants.push(
      statement({
        kind: 'grant-role',
        sql: grantRoleSql(role.name, admin, true),
        reason: `role ${JSON.stringify(admin)} lacks ADMIN OPTION on ${JSON.stringify(role.name)}`,
      }),
    );
  }
}

/**
 * Drops `<base><YYMMDD>` roles that are members of `base`, are not wanted, are not in the Secret,
 * and were created before the retention date. Optional: one that still owns objects stays, with a warning.
 */
function planRotationCleanup(desired: DesiredState, current: CurrentState, desiredNames: ReadonlySet<string>, plan: RolePlan): void {
  for (const cleanup of desired.rotationCleanup) {
    for (const [name, role] of current.roles) {
      const created = rotationUserDate(name, cleanup.base);
      if (created === undefined || desiredNames.has(name) || cleanup.keep.includes(name)) continue;
      if (!role.memberOf.some((m) => m.role === cleanup.base)) continue;
      if (created.getTime() >= cleanup.createdBefore.getTime()) continue;
      plan.drops.push(
        statement({
          kind: 'drop-role',
          sql: dropRoleSql(name),
          optional: true,
          reason: `rotation user ${JSON.stringify(name)} of ${JSON.stringify(cleanup.base)} is past the retention period`,
        }),
      );
    }
  }
}
