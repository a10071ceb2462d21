// Public API of @pgfn/fn-team-role-sync: the app, and the pure steps tests and the benchmark use.
export { createApp, type AppDeps } from './app.js';
export { createHandler, type HandlerDeps } from './handler.js';
export { targetOf, TEAM_ROLES_CONDITION, PING_TYPE, CLUSTER_READY, type Target } from './events.js';
export {
  buildTeamMap,
  additionalTeams,
  additionalMembers,
  ownerAffected,
  teamsNamedBy,
  type TeamMap,
  type TeamEntry,
} from './postgres-teams.js';
export {
  clusterTeams,
  allTeams,
  teamMembers,
  resolveMembers,
  type ClusterTeams,
  type HumanMember,
  type TeamsConfig,
} from './cluster-teams.js';
export { humanRoles, type HumanRoles, type HumanRolesConfig } from './human-roles.js';
export { planTeamRoles, type TeamPlan, type TeamPlanInput, type DeprecationSettings } from './team-plan.js';
export { applyTeamRoles, type ApplyReport } from './role-apply.js';
export {
  fetchTeam,
  parseMembers,
  teamUrl,
  TeamsApiError,
  DEFAULT_TEAMS_API_TIMEOUT_MS,
  type TeamLookup,
  type TeamsApiOptions,
} from './teams-api.js';
export { readTeamsApiToken, TOKEN_TYPE_KEY, TOKEN_SECRET_KEY } from './token.js';
export { mergeCondition, writeTeamCondition, type TeamCondition } from './condition.js';
export { reservedRoles, syncClusterRoles, type ClusterOutcome, type ClusterSyncDeps } from './cluster-sync.js';
export { syncTeams, TEAM_ROLES_SYNCED, type TeamSyncDeps, type SyncSummary, type ClusterResult } from './team-sync.js';
