// Public API of @pgfn/patroni: a client for Patroni's REST API and the shapes it answers with.
export { PatroniClient, PatroniError, patroniUrl } from './client.js';
export type { PatroniClientOptions, RestartRequest, SwitchoverRequest } from './client.js';
export type { ClusterMember, ClusterView, DynamicConfig, MemberStatus, ReplicationRow } from './types.js';
