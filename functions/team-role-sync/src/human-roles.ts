// Team members -> the roles the diff aims at. Rules from upstream pkg/cluster/cluster.go
// (initTeamMembers: LOGIN, IN ROLE pam_role_name, plus team_admin_role unless SUPERUSER, settings from
// team_api_role_configuration, no password; shouldAvoidProtectedOrSystemRole). Pure.
import type { OperatorConfig } from '@pgfn/api';
import { identifierProblem, parameterNameProblem, type DesiredRole } from '@pgfn/roles';
import type { HumanMember } from './cluster-teams.js';

export type HumanRolesConfig = Pick<OperatorConfig, 'pamRoleName' | 'teamAdminRole' | 'teamApiRoleConfiguration' | 'protectedRoleNames'>;

export interface HumanRoles {
  readonly roles: DesiredRole[];
  /** Members and settings that were skipped, each in a sentence. */
  readonly problems: string[];
}

/**
 * One role per member. `reserved` names roles another part of the operator owns (system users,
 * manifest users, prepared-database roles) with the reason; team members of that name are skipped,
 * so two functions never fight over one role.
 */
export function humanRoles(members: Iterable<HumanMember>, config: HumanRolesConfig, reserved: ReadonlyMap<string, string>): HumanRoles {
  const problems: string[] = [];
  const parameters = roleParameters(config.teamApiRoleConfiguration, problems);
  const groups = new Set([config.pamRoleName, config.teamAdminRole].filter((g) => g !== ''));
  const roles: DesiredRole[] = [];
  for (const member of [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const why = skipReason(member.name, config, reserved, groups);
    if (why !== undefined) {
      problems.push(`team member ${JSON.stringify(member.name)} (${member.teams.join(', ')}) ${why}; skipped`);
      continue;
    }
    const memberOf = [config.pamRoleName, ...(member.superuser ? [] : [config.teamAdminRole])].filter((g) => g !== '');
    roles.push({
      name: member.name,
      // SUPERUSER is enforced both ways: leaving a superuser team takes it away (upstream never does).
      flags: { LOGIN: true, SUPERUSER: member.superuser },
      memberOf,
      admins: [],
      ...(parameters !== undefined ? { parameters } : {}),
    });
  }
  return { roles, problems };
}

function skipReason(
  name: string,
  config: HumanRolesConfig,
  reserved: ReadonlyMap<string, string>,
  groups: ReadonlySet<string>,
): string | undefined {
  const problem = identifierProblem(name);
  if (problem !== undefined) return `is not a usable role name: it ${problem}`;
  if (config.protectedRoleNames.includes(name)) return 'has the name of a protected role';
  if (name.startsWith('pg_')) return 'starts with "pg_", which Postgres reserves';
  if (groups.has(name)) return 'has the name of the PAM or team admin role';
  const owner = reserved.get(name);
  if (owner !== undefined) return `has the name of ${owner}`;
  return undefined;
}

/** team_api_role_configuration as role settings; undefined when empty (settings are then left alone). */
function roleParameters(configured: Readonly<Record<string, string>>, problems: string[]): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(configured).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const problem = parameterNameProblem(name);
    if (problem !== undefined || typeof value !== 'string' || value.includes('\0')) {
      problems.push(
        `team_api_role_configuration: ${JSON.stringify(name)} ${
          problem ?? 'has a value that is not a string without NUL characters'
        }; ignored`,
      );
      continue;
    }
    out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
