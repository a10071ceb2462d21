// The human-role diff: @pgfn/roles' planRoles for creating and converging roles, plus what that
// package does not model (see its README): renaming leavers with role_deletion_suffix and NOLOGIN,
// and renaming them back when they return. Rules from upstream pkg/util/users/users.go
// (ProduceSyncRequests: deleted roles) and pkg/cluster/sync.go (syncRoles: deletedUsers). Pure.
//
// Which roles are human roles? Upstream remembers the last sync's team members in memory, so a
// restarted operator forgets its leavers. A function keeps no memory; membership in pam_role_name is
// what marks a human role in the catalogs (every human role is granted it), so leavers are found
// on every run, also after a restart.
import {
  identifierProblem,
  planRoles,
  quoteIdent,
  type CurrentRole,
  type DesiredRole,
  type DesiredState,
  type Statement,
} from '@pgfn/roles';

export interface DeprecationSettings {
  /** enable_team_member_deprecation */
  readonly enabled: boolean;
  /** role_deletion_suffix; '' means leavers only lose LOGIN. */
  readonly suffix: string;
}

export interface TeamPlanInput {
  readonly desired: readonly DesiredRole[];
  /** pg_authid as read (roles starting with pg_ excluded). */
  readonly current: ReadonlyMap<string, CurrentRole>;
  /** pam_role_name: its members are the human roles; '' = none can be recognised. */
  readonly pamRole: string;
  readonly deprecation: DeprecationSettings;
  /** Never deprecated, whatever their memberships: protected, system and other functions' roles. */
  readonly untouchable: ReadonlySet<string>;
}

export interface TeamPlan {
  readonly statements: readonly Statement[];
  readonly warnings: readonly string[];
  readonly created: readonly string[];
  readonly restored: readonly string[];
  readonly deprecated: readonly string[];
}

const NO_PASSWORDS = (): Buffer => {
  throw new Error('human roles have no password; nothing should need a salt');
};

export function planTeamRoles(input: TeamPlanInput): TeamPlan {
  const warnings: string[] = [];
  const desiredNames = new Set(input.desired.map((r) => r.name));
  const isHuman = (role: CurrentRole): boolean => input.pamRole !== '' && role.memberOf.some((m) => m.role === input.pamRole);

  const restores = planRestores(input, desiredNames, isHuman);
  const converged = planRoles(
    desiredState(input.desired),
    { roles: restores.view, databases: new Map(), objects: new Map() },
    NO_PASSWORDS,
  );
  warnings.push(...converged.warnings);
  const deprecations = input.deprecation.enabled ? planDeprecations(input, desiredNames, isHuman, warnings) : { statements: [], names: [] };
  return {
    statements: [
      ...restores.statements,
      ...converged.creates,
      ...converged.alters,
      ...converged.settings,
      ...converged.revokes,
      ...converged.grants,
      ...deprecations.statements,
    ],
    warnings,
    // planRoles creates exactly the desired roles missing from the view it was given.
    created: input.desired.filter((r) => !restores.view.has(r.name)).map((r) => r.name),
    restored: restores.names,
    deprecated: deprecations.names,
  };
}

function desiredState(roles: readonly DesiredRole[]): DesiredState {
  return {
    roles,
    databases: [],
    schemas: [],
    schemaUsage: [],
    defaultPrivileges: [],
    extensions: [],
    rotationCleanup: [],
    passwordEncryption: 'scram-sha-256',
  };
}

interface Restores {
  readonly statements: Statement[];
  readonly names: string[];
  /** The catalog as it will be after the renames, for the rest of the diff. */
  readonly view: Map<string, CurrentRole>;
}

/**
 * A returning member whose role was deprecated: `<name><suffix>` exists, is a human role, and
 * `<name>` does not exist. It is renamed back (keeping its grants and ownerships); the diff then gives
 * back LOGIN and whatever else it lacks.
 */
function planRestores(input: TeamPlanInput, desiredNames: ReadonlySet<string>, isHuman: (r: CurrentRole) => boolean): Restores {
  const view = new Map(input.current);
  const statements: Statement[] = [];
  const names: string[] = [];
  const { enabled, suffix } = input.deprecation;
  if (!enabled || suffix === '') return { statements, names, view };
  for (const role of input.desired) {
    if (input.current.has(role.name)) continue;
    const deleted = role.name + suffix;
    const old = input.current.get(deleted);
    if (old === undefined || !isHuman(old) || desiredNames.has(deleted)) continue;
    statements.push(
      renameStatement(
        deleted,
        role.name,
        `team member ${JSON.stringify(role.name)} is back; restoring the role deprecated as ${JSON.stringify(deleted)}`,
      ),
    );
    view.delete(deleted);
    view.set(role.name, { ...old, name: role.name });
    names.push(role.name);
  }
  return { statements, names, view };
}

/**
 * Human roles nobody wants any more lose LOGIN and get the suffix (upstream's order: NOLOGIN, then
 * RENAME). Roles already carrying the suffix are deprecated ones and stay as they are.
 */
function planDeprecations(
  input: TeamPlanInput,
  desiredNames: ReadonlySet<string>,
  isHuman: (r: CurrentRole) => boolean,
  warnings: string[],
): { statements: Statement[]; names: string[] } {
  const statements: Statement[] = [];
  const names: string[] = [];
  const { suffix } = input.deprecation;
  if (input.pamRole === '') {
    warnings.push(
      'enable_team_member_deprecation needs pam_role_name: without it human roles cannot be told apart, so none was deprecated',
    );
    return { statements, names };
  }
  const sorted = [...input.current.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const role of sorted) {
    const { name } = role;
    if (desiredNames.has(name) || input.untouchable.has(name) || name === input.pamRole || !isHuman(role)) continue;
    if (suffix !== '' && name.endsWith(suffix)) continue;
    const before = statements.length;
    if (role.flags.LOGIN) {
      statements.push({
        kind: 'alter-role',
        sql: `ALTER ROLE ${quoteIdent(name)} WITH NOLOGIN`,
        display: `ALTER ROLE ${quoteIdent(name)} WITH NOLOGIN`,
        reason: `${JSON.stringify(name)} is no longer a member of the cluster's teams`,
      });
    }
    if (suffix !== '') {
      const target = name + suffix;
      const problem = identifierProblem(target);
      if (problem !== undefined)
        warnings.push(`cannot rename former team member ${JSON.stringify(name)}: ${JSON.stringify(target)} ${problem}; it only lost LOGIN`);
      else if (input.current.has(target) || desiredNames.has(target))
        warnings.push(
          `cannot rename former team member ${JSON.stringify(name)}: a role ${JSON.stringify(target)} exists; it only lost LOGIN`,
        );
      else statements.push(renameStatement(name, target, `${JSON.stringify(name)} is no longer a member of the cluster's teams`));
    }
    if (statements.length > before) names.push(name);
  }
  return { statements, names };
}

function renameStatement(from: string, to: string, reason: string): Statement {
  const sql = `ALTER ROLE ${quoteIdent(from)} RENAME TO ${quoteIdent(to)}`;
  return { kind: 'alter-role', sql, display: sql, reason };
}
