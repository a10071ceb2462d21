// Test and benchmark helpers of @pgfn/node-agent (import '@pgfn/node-agent/testing').
export { applySpiloCluster, clusterMembers, postgresPodClusterRole, spiloConfig, spiloManifest } from './spilo-cluster.js';
export type { MemberView, SpiloCluster, SpiloClusterSpec } from './spilo-cluster.js';
export { FailoverWriter } from './writer.js';
export type { Ack, WriterOptions } from './writer.js';
export { FAULT_KINDS, runFault, waitWhole, wholeCluster } from './failover-safety.js';
export type { FaultKind, FaultOutcome, FaultRun, StandbyState, WaitWholeOptions, Whole } from './failover-safety.js';
export { LedgerWriter } from './ledger.js';
export type { LedgerAck, LedgerCheck, LedgerWriterOptions } from './ledger.js';
