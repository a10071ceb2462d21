// Which teams give human roles in one cluster, and whether as superusers. Rules from upstream
// pkg/cluster/cluster.go (initHumanUsers, initTeamMembers) and util.go (getTeamMembers). Pure.
import type { OperatorConfig } from '@pgfn/api';
import { additionalMembers, additionalTeams, type TeamMap } from './postgres-teams.js';

/** The configuration keys that decide which teams count. */
export type TeamsConfig = Pick<
  OperatorConfig,
  'enableTeamsApi' | 'enablePostgresTeamCrd' | 'enablePostgresTeamCrdSuperusers' | 'postgresSuperuserTeams' | 'enableTeamSuperuser'
>;

export interface ClusterTeams {
  /** spec.teamId. */
  readonly owner: string;
  /** Teams whose members become superusers (postgres_superuser_teams, PostgresTeam additionalSuperuserTeams). */
  readonly superuserTeams: readonly string[];
  /** Teams whose members get ordinary human roles: the owner (unless a superuser team) and additional teams. */
  readonly regularTeams: readonly string[];
  /** enable_team_superuser: the owning team's members are superusers too. */
  readonly ownerIsSuperuser: boolean;
}

/**
 * The teams of a cluster owned by `owner`. PostgresTeam mappings count only with
 * enable_postgres_team_crd, its superuser teams only with enable_postgres_team_crd_superusers too.
 * A team that is both superuser and additional is a superuser team (upstream skips it as additional).
 */
export function clusterTeams(owner: string, config: TeamsConfig, map: TeamMap): ClusterTeams {
  const superuser = new Set<string>();
  if (config.enablePostgresTeamCrd && config.enablePostgresTeamCrdSuperusers) {
    for (const t of additionalTeams(map, owner, 'superuser')) superuser.add(t);
  }
  for (const t of config.postgresSuperuserTeams) if (t !== '') superuser.add(t);
  const regular = new Set<string>();
  if (!superuser.has(owner)) regular.add(owner);
  if (config.enablePostgresTeamCrd) {
    for (const t of additionalTeams(map, owner, 'regular')) if (!superuser.has(t)) regular.add(t);
  }
  return {
    owner,
    superuserTeams: [...superuser].sort(),
    regularTeams: [...regular].sort(),
    ownerIsSuperuser: config.enableTeamSuperuser,
  };
}

/** Every team whose members the cluster needs. */
export function allTeams(teams: ClusterTeams): string[] {
  return [...new Set([...teams.superuserTeams, ...teams.regularTeams])].sort();
}

/** One person with a human role in the cluster. */
export interface HumanMember {
  readonly name: string;
  readonly superuser: boolean;
  /** The teams that bring them, sorted (for messages). */
  readonly teams: readonly string[];
}

/**
 * Members of one team: PostgresTeam additionalMembers (with the CRD enabled) and, with the Teams API
 * enabled, what it returned for the team (`apiMembers`; a team it does not know is empty).
 */
export function teamMembers(team: string, config: TeamsConfig, map: TeamMap, apiMembers: readonly string[]): string[] {
  const members = new Set<string>(config.enablePostgresTeamCrd ? additionalMembers(map, team) : []);
  if (config.enableTeamsApi) for (const m of apiMembers) members.add(m);
  return [...members];
}

/**
 * Everyone with a human role, by name. Superuser wins: a person in a superuser team and an ordinary
 * team is a superuser (upstream lets whichever team is processed last decide).
 */
export function resolveMembers(teams: ClusterTeams, membersOf: (team: string) => readonly string[]): Map<string, HumanMember> {
  const out = new Map<string, { superuser: boolean; teams: Set<string> }>();
  const add = (team: string, superuser: boolean): void => {
    for (const name of membersOf(team)) {
      const seen = out.get(name);
      if (seen === undefined) out.set(name, { superuser, teams: new Set([team]) });
      else {
        seen.superuser ||= superuser;
        seen.teams.add(team);
      }
    }
  };
  for (const t of teams.superuserTeams) add(t, true);
  for (const t of teams.regularTeams) add(t, t === teams.owner && teams.ownerIsSuperuser);
  return new Map([...out].map(([name, m]) => [name, { name, superuser: m.superuser, teams: [...m.teams].sort() }]));
}
