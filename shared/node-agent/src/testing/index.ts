// Test and benchmark helpers of @pgfn/node-agent (import '@pgfn/node-agent/testing').
export { applySpiloCluster, clusterMembers, postgresPodClusterRole, spiloConfig, spiloManifest } from './spilo-cluster.js';
export type { MemberView, SpiloCluster, SpiloClusterSpec } from './spilo-cluster.js';
export { FailoverWriter } from './writer.js';
export type { Ack, WriterOptions } from './writer.js';
