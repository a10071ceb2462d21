// PostgresTeam mappings merged into one map, and the walks over it. Rules from upstream
// pkg/teams/postgres_team.go (Load merges every PostgresTeam into one map; additional teams and
// superuser teams are followed transitively, each kind along its own edges) and docs/user.md
// (virtual teams, additional members). Pure.
import type { PostgresTeam } from '@pgfn/api';

/** What every PostgresTeam together says about one team. */
export interface TeamEntry {
  readonly superuserTeams: ReadonlySet<string>;
  readonly teams: ReadonlySet<string>;
  readonly members: ReadonlySet<string>;
}

/** team -> its entry; teams no PostgresTeam names are absent. */
export type TeamMap = ReadonlyMap<string, TeamEntry>;

type Edge = 'superuserTeams' | 'teams';

interface MutableEntry {
  superuserTeams: Set<string>;
  teams: Set<string>;
  members: Set<string>;
}

/**
 * Merges PostgresTeam objects into one map. Several objects may name the same team; their lists are
 * united. Entries that are not lists of strings are ignored (the CRD schema forbids them anyway).
 */
export function buildTeamMap(items: readonly Pick<PostgresTeam, 'spec'>[]): TeamMap {
  const map = new Map<string, MutableEntry>();
  const entry = (team: string): MutableEntry => {
    let e = map.get(team);
    if (e === undefined) {
      e = { superuserTeams: new Set(), teams: new Set(), members: new Set() };
      map.set(team, e);
    }
    return e;
  };
  for (const item of items) {
    const spec = item.spec ?? {};
    merge(spec.additionalSuperuserTeams, (team, value) => entry(team).superuserTeams.add(value));
    merge(spec.additionalTeams, (team, value) => entry(team).teams.add(value));
    merge(spec.additionalMembers, (team, value) => entry(team).members.add(value));
  }
  return map;
}

function merge(record: Readonly<Record<string, unknown>> | undefined, add: (team: string, value: string) => void): void {
  if (record === undefined || record === null || typeof record !== 'object') return;
  for (const [team, values] of Object.entries(record)) {
    if (!Array.isArray(values)) continue;
    for (const v of values) if (typeof v === 'string' && v !== '') add(team, v);
  }
}

/**
 * Every team reachable from `team` along one kind of edge, `team` itself excluded, sorted. Cycles end
 * the walk where they close (a team is visited once), so `a -> b -> a` yields `[b]` for `a`.
 */
export function additionalTeams(map: TeamMap, team: string, kind: 'superuser' | 'regular'): string[] {
  return [...reach(map, [team], [kind === 'superuser' ? 'superuserTeams' : 'teams'])].filter((t) => t !== team).sort();
}

/** The individual members PostgresTeams add to `team` (not transitive: teams bring their own). */
export function additionalMembers(map: TeamMap, team: string): string[] {
  return [...(map.get(team)?.members ?? [])].sort();
}

/** Teams reachable from `starts` (the starts included) along the given edges. */
function reach(map: TeamMap, starts: readonly string[], edges: readonly Edge[]): Set<string> {
  const seen = new Set<string>(starts);
  const queue = [...starts];
  while (queue.length > 0) {
    const team = queue.shift() as string;
    const e = map.get(team);
    if (e === undefined) continue;
    for (const edge of edges) {
      for (const next of e[edge]) {
        if (seen.has(next)) continue;
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

/**
 * Does a change to the teams in `touched` concern clusters owned by `owner`? True when the owner is
 * one of them or reaches one of them along any edge, superuser or regular.
 */
export function ownerAffected(map: TeamMap, owner: string, touched: ReadonlySet<string>): boolean {
  for (const team of reach(map, [owner], ['superuserTeams', 'teams'])) if (touched.has(team)) return true;
  return false;
}

/** Every team a PostgresTeam names, as a key or in a list. */
export function teamsNamedBy(team: Pick<PostgresTeam, 'spec'>): Set<string> {
  const names = new Set<string>();
  const spec = team.spec ?? {};
  for (const record of [spec.additionalSuperuserTeams, spec.additionalTeams]) {
    for (const [key, values] of Object.entries(record ?? {})) {
      names.add(key);
      if (Array.isArray(values)) for (const v of values) if (typeof v === 'string') names.add(v);
    }
  }
  for (const key of Object.keys(spec.additionalMembers ?? {})) names.add(key);
  return names;
}
