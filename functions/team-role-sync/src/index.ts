// What tests and the benchmark use of team-role-sync: the handler and its pure steps.
export { createHandler, type HandlerDeps } from './handler.js';
export { targetOf, TEAM_ROLES_CONDITION, CLUSTER_READY, type Target } from './events.js';
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
export { reservedRoles, syncClusterRoles, type ClusterOutcome, type ClusterRoles, type ClusterSyncDeps } from './cluster-sync.js';
export { syncTeams, TEAM_ROLES_SYNCED, type TeamCondition, type TeamSyncDeps, type SyncSummary, type ClusterResult } from './team-sync.js';
