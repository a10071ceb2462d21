// One invocation: the clusters an event concerns, the PostgresTeam map, each needed team fetched once
// from the Teams API, then every cluster's human roles, its condition, Events and CloudEvent.
// A team the Teams API could not answer for leaves every cluster that needs it untouched (no role
// changes at all there) and fails the invocation, so the Broker redelivers it.
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, POSTGRES_TEAM_KIND, POSTGRESQL_KIND, type OperatorConfig, type Postgresql, type PostgresTeam } from '@pgfn/api';
import { eventRecorder, mapLimited, setCondition, type ConfigLoader, type ConditionInput, type Emit, type Logger } from '@pgfn/fn-runtime';
import type { KubeClient } from '@pgfn/kube';
import { allTeams, clusterTeams, resolveMembers, teamMembers, type ClusterTeams } from './cluster-teams.js';
import { reservedRoles, syncClusterRoles, type ClusterOutcome, type ClusterSyncDeps } from './cluster-sync.js';
import { TEAM_ROLES_CONDITION, type Target } from './events.js';
import { humanRoles } from './human-roles.js';
import { buildTeamMap, ownerAffected, type TeamMap } from './postgres-teams.js';
import { fetchTeam, TeamsApiError, type TeamLookup, type TeamsApiOptions } from './teams-api.js';
import { readTeamsApiToken } from './token.js';

export const TEAM_ROLES_SYNCED = 'dev.pgfn.teamroles.synced';

export interface TeamSyncDeps extends ClusterSyncDeps {
  readonly kube: KubeClient;
  /** The operator configuration, at most `maxAgeMs` old (0 or absent: read now). */
  readonly loadConfig: ConfigLoader;
  /** Where a token Secret named without a namespace lives (OPERATOR_NAMESPACE). */
  readonly operatorNamespace: string;
  readonly now: () => Date;
  readonly emit: Emit;
  /** Namespaces whose clusters and PostgresTeams count; undefined = all. */
  readonly watchedNamespace?: string;
  /** Teams API request settings beyond URL and token (timeouts, retries; tests pass a short timeout). */
  readonly teamsApi?: Omit<TeamsApiOptions, 'url' | 'token'>;
  /** Clusters synced at once. Default 4. */
  readonly concurrency?: number;
  /** Teams API requests at once. Default 8. */
  readonly teamsConcurrency?: number;
}

export type ClusterState = ClusterOutcome['state'] | 'teams-unavailable' | 'skipped';

export interface ClusterResult {
  readonly namespace: string;
  readonly name: string;
  readonly state: ClusterState;
  readonly message: string;
  readonly statements: number;
}

export interface SyncSummary {
  readonly disabled: boolean;
  readonly clusters: readonly ClusterResult[];
  /** Teams asked of the Teams API, and those it failed for. */
  readonly teamsFetched: number;
  readonly teamsFailed: readonly string[];
}

type Cluster = Postgresql & KubernetesObject;
type Lookups = ReadonlyMap<string, TeamLookup | TeamsApiError>;

const CLUSTER_EVENT_CONFIG_MAX_AGE_MS = 10_000;

export async function syncTeams(deps: TeamSyncDeps, target: Exclude<Target, { scope: 'ignore' }>, log: Logger): Promise<SyncSummary> {
  // One cluster's event may use a configuration read in the last seconds (a burst of new clusters
  // would otherwise read it once each); a resync or configuration change reads it afresh.
  const { config, problems } = await deps.loadConfig(target.scope === 'cluster' ? CLUSTER_EVENT_CONFIG_MAX_AGE_MS : 0);
  if (problems.length > 0) log.warn({ problems }, 'operator configuration has bad values; using defaults for them');
  if (!config.enableTeamsApi && !config.enablePostgresTeamCrd) {
    // Said at info for the periodic sync and configuration changes; for each cluster event it is noise.
    const level = target.scope === 'cluster' ? 'debug' : 'info';
    log[level]('neither enable_teams_api nor enable_postgres_team_crd is set: no human roles are managed');
    return { disabled: true, clusters: [], teamsFetched: 0, teamsFailed: [] };
  }
  const pgTeams = config.enablePostgresTeamCrd
    ? await deps.kube.list<PostgresTeam & KubernetesObject>(API_VERSION, POSTGRES_TEAM_KIND, deps.watchedNamespace)
    : [];
  // Membership comes from the PostgresTeams as they are now. Which clusters a changed PostgresTeam
  // concerns also counts the object the event carried: a deleted one is no longer listed.
  const map = buildTeamMap(pgTeams);
  const reachMap = target.scope === 'teams' ? buildTeamMap([...pgTeams, target.team]) : map;
  const clusters = await targetClusters(deps, target, config, reachMap);
  const plans = new Map(clusters.map((c) => [c, c.spec?.teamId ? clusterTeams(c.spec.teamId, config, map) : undefined]));
  const needed = config.enableTeamsApi ? [...new Set([...plans.values()].flatMap((p) => (p === undefined ? [] : allTeams(p))))].sort() : [];
  const lookups = await fetchTeams(deps, config, needed, log);
  const results = await mapLimited(clusters, deps.concurrency ?? 4, async (cluster) => {
    const clog = log.child({ namespace: cluster.metadata?.namespace, cluster: cluster.metadata?.name });
    try {
      return await syncOne(deps, { config, map, lookups }, { cluster, teams: plans.get(cluster), log: clog });
    } catch (err) {
      clog.error({ err }, 'team role sync failed');
      return result(cluster, 'failed', (err as Error).message, 0);
    }
  });
  const teamsFailed = [...lookups].filter(([, l]) => l instanceof TeamsApiError).map(([t]) => t);
  return { disabled: false, clusters: results, teamsFetched: needed.length, teamsFailed };
}

async function targetClusters(
  deps: TeamSyncDeps,
  target: Exclude<Target, { scope: 'ignore' }>,
  config: OperatorConfig,
  map: TeamMap,
): Promise<Cluster[]> {
  if (target.scope === 'cluster') {
    const one = await deps.kube.get<Cluster>({
      apiVersion: API_VERSION,
      kind: POSTGRESQL_KIND,
      namespace: target.namespace,
      name: target.name,
    });
    return one === undefined || one.metadata?.deletionTimestamp !== undefined ? [] : [one];
  }
  if (target.scope === 'teams' && !config.enablePostgresTeamCrd) return [];
  const all = (await deps.kube.list<Cluster>(API_VERSION, POSTGRESQL_KIND, deps.watchedNamespace)).filter(
    (c) => c.metadata?.deletionTimestamp === undefined,
  );
  if (target.scope === 'teams') return all.filter((c) => c.spec?.teamId && ownerAffected(map, c.spec.teamId, target.teams));
  return all;
}

/** Each team once, a few at a time. The token is read only when some team is needed. */
async function fetchTeams(deps: TeamSyncDeps, config: OperatorConfig, teams: readonly string[], log: Logger): Promise<Lookups> {
  const lookups = new Map<string, TeamLookup | TeamsApiError>();
  if (teams.length === 0) return lookups;
  let token: string;
  try {
    token = await readTeamsApiToken(deps.kube, config.oauthTokenSecretName, deps.operatorNamespace);
  } catch (err) {
    const failure = err instanceof TeamsApiError ? err : new TeamsApiError((err as Error).message, undefined, { cause: err });
    for (const t of teams) lookups.set(t, failure);
    log.error({ err: failure.message }, 'no Teams API token');
    return lookups;
  }
  const options: TeamsApiOptions = { ...deps.teamsApi, url: config.teamsApiUrl, token };
  await mapLimited(teams, deps.teamsConcurrency ?? 8, async (team) => {
    try {
      const lookup = await fetchTeam(options, team);
      if (!lookup.found) log.warn({ team }, lookup.warning);
      lookups.set(team, lookup);
    } catch (err) {
      const failure =
        err instanceof TeamsApiError
          ? err
          : new TeamsApiError(`Teams API request for team ${JSON.stringify(team)} failed: ${(err as Error).message}`, undefined, {
              cause: err,
            });
      log.error({ team, err: failure.message }, 'Teams API request failed');
      lookups.set(team, failure);
    }
  });
  return lookups;
}

/** What one invocation read for every cluster: the configuration, the PostgresTeam map and the Teams API answers. */
interface Shared {
  readonly config: OperatorConfig;
  readonly map: TeamMap;
  readonly lookups: Lookups;
}

async function syncOne(
  deps: TeamSyncDeps,
  { config, map, lookups }: Shared,
  one: { readonly cluster: Cluster; readonly teams: ClusterTeams | undefined; readonly log: Logger },
): Promise<ClusterResult> {
  const { cluster, teams, log } = one;
  if (teams === undefined) {
    log.warn('the cluster has no teamId; no human roles are managed for it');
    return result(cluster, 'skipped', 'no teamId', 0);
  }
  const needed = allTeams(teams);
  const failed = needed.filter((t) => lookups.get(t) instanceof TeamsApiError);
  if (failed.length > 0) {
    const first = lookups.get(failed[0] as string) as TeamsApiError;
    const message = `no role was changed: the Teams API failed for team(s) ${failed.join(', ')}: ${first.message}`;
    await report(
      deps,
      cluster,
      { status: 'False', reason: 'TeamsApiUnavailable', message },
      { type: 'Warning', reason: 'TeamsApiUnavailable' },
    );
    return result(cluster, 'teams-unavailable', message, 0);
  }
  const apiMembers = (team: string): readonly string[] => (lookups.get(team) as TeamLookup | undefined)?.members ?? [];
  const members = resolveMembers(teams, (team) => teamMembers(team, config, map, apiMembers(team)));
  const reserved = reservedRoles(cluster, config);
  const { roles, problems } = humanRoles(members.values(), config, reserved);
  const notFound = needed.flatMap((t) => {
    const l = lookups.get(t);
    return l !== undefined && !(l instanceof TeamsApiError) && !l.found ? [l.warning] : [];
  });
  if (problems.length > 0) log.warn({ problems: problems.slice(0, 20), count: problems.length }, 'team members skipped');

  const outcome = await syncClusterRoles(deps, { cluster, config, roles, reserved, log });
  const summary = `${roles.length} human role(s) from team(s) ${needed.join(', ')}`;
  if (outcome.state === 'waiting') {
    await report(deps, cluster, { status: 'Unknown', reason: 'WaitingForMaster', message: outcome.message });
    return result(cluster, 'waiting', outcome.message, 0);
  }
  const notes = [...notFound, ...problems, ...outcome.warnings];
  const noteText = notes.length === 0 ? '' : `; ${notes.slice(0, 5).join('; ')}${notes.length > 5 ? `; and ${notes.length - 5} more` : ''}`;
  const counts = [`created ${outcome.created.length}`, `restored ${outcome.restored.length}`, `deprecated ${outcome.deprecated.length}`];
  const work = `${counts.join(', ')}, ${outcome.statements} statement(s)`;
  if (outcome.state === 'failed') {
    const message = `${outcome.message}; ${summary}`;
    await report(deps, cluster, { status: 'False', reason: 'SyncFailed', message }, { type: 'Warning', reason: 'TeamRolesSyncFailed' });
    return result(cluster, 'failed', message, outcome.statements);
  }
  // The condition states the result, not this run's work, so a sync that changes nothing writes nothing.
  await report(
    deps,
    cluster,
    { status: 'True', reason: 'Synced', message: `${summary}${noteText}` },
    outcome.statements > 0 ? { type: 'Normal', reason: 'TeamRolesSynced', message: `${work}; ${summary}`, always: true } : undefined,
  );
  const namespace = cluster.metadata?.namespace ?? '';
  const name = cluster.metadata?.name ?? '';
  await deps
    .emit(TEAM_ROLES_SYNCED, `${namespace}/${name}`, {
      namespace,
      name,
      teamId: teams.owner,
      teams: needed,
      roles: roles.length,
      statements: outcome.statements,
      created: outcome.created.length,
      restored: outcome.restored.slice(0, 100),
      deprecated: outcome.deprecated.slice(0, 100),
    })
    .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not emit the team roles CloudEvent'));
  log.info(
    {
      roles: roles.length,
      statements: outcome.statements,
      created: outcome.created.length,
      restored: outcome.restored,
      deprecated: outcome.deprecated,
    },
    'team roles synced',
  );
  return result(cluster, 'synced', `${work}; ${summary}`, outcome.statements);
}

interface EventSpec {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  /** Defaults to the condition's message. */
  readonly message?: string;
  /** Record even when the condition did not change (work was done). */
  readonly always?: boolean;
}

/** TeamRolesSynced as this function states it; the kit fills in the type, time and generation. */
export type TeamCondition = Omit<ConditionInput, 'type'>;

/** Writes the condition; records the Event when the condition changed (or always, for work done). */
async function report(deps: TeamSyncDeps, cluster: Cluster, condition: TeamCondition, event?: EventSpec): Promise<void> {
  const about = { ...cluster, apiVersion: API_VERSION, kind: POSTGRESQL_KIND };
  const changed = await setCondition({
    kube: deps.kube,
    object: about,
    condition: { type: TEAM_ROLES_CONDITION, ...condition },
    now: deps.now(),
  });
  if (event === undefined || (!changed && event.always !== true)) return;
  const record = eventRecorder({ kube: deps.kube, component: 'pgfn-team-role-sync', now: deps.now });
  await record({ about, type: event.type, reason: event.reason, message: event.message ?? condition.message });
}

function result(cluster: Cluster, state: ClusterState, message: string, statements: number): ClusterResult {
  return { namespace: cluster.metadata?.namespace ?? '', name: cluster.metadata?.name ?? '', state, message, statements };
}
