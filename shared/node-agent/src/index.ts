// Public API of @pgfn/node-agent: development and test infrastructure that plays kubelet for Spilo
// and PgBouncer pods with real Patroni, PostgreSQL and PgBouncer processes. Never part of a function image.
export { startNodeAgent } from './agent.js';
export type { CrashOptions, NodeAgent, NodeAgentOptions } from './agent.js';
export { KUBELET_BACKOFF } from './container.js';
export type { BackoffSettings } from './container.js';
export { ContainerConfigError, expand, resolveContainerEnv } from './env.js';
export type { EnvSources, PodRuntimeFacts } from './env.js';
export { IpPool } from './ip-pool.js';
export { claimsOf, podFitsNode, type NodeView } from './node-fit.js';
export { LOCAL_REGION, localNodeSpecs, REGION_LABEL, startLocalNodes, ZONE_LABEL, zoneName } from './local-nodes.js';
export type { LocalNodeLayout, LocalNodes, LocalNodeSpec, LocalNodesOptions } from './local-nodes.js';
export {
  AGENT_GROUP_ENV,
  AGENT_GROUP_LABEL,
  AGENT_VERSION,
  agentGroupLabel,
  agentNodeLabels,
  DEFAULT_NODE_CAPACITY,
  NODE_AGENT_LABEL,
  nodeObject,
  type NodeCapacity,
} from './node.js';
export { pgbouncerFiles } from './pgbouncer/config.js';
export { CRASH_ANNOTATION, CRASH_HOLD_ANNOTATION } from './pod-worker.js';
export { buildPodStatus, podPhase } from './pod-status.js';
export {
  PROVISIONER_NAME,
  SHARED_STORAGE_CLASS,
  claimDir,
  persistentVolumeFor,
  resizeNeed,
  shouldProvision,
  storageClass,
} from './provisioner.js';
export type { ResizeNeed } from './provisioner.js';
export { createServiceResolver, hostsFile, parseServiceHost, serviceBackends, type ServiceAddresses } from './resolver.js';
export type { ServiceAddress, ServiceBackend, ServiceName, ServiceResolver } from './resolver.js';
export { DEFAULT_IMAGE_PATTERNS, runtimeKindOf } from './runtime.js';
export type { ImagePatterns } from './runtime.js';
export { initScript, SandboxProcess, shellQuote } from './sandbox.js';
export type { SandboxExit, SandboxMount, SandboxSpec } from './sandbox.js';
export { SCRIPTS_DIR, SPILO_IMAGE_ENV, SpiloConfigError, spiloPatroniConfig } from './spilo/patroni-config.js';
export type { SpiloHostFacts, SpiloPlan } from './spilo/patroni-config.js';
export { spiloDeepUpdate } from './spilo/merge.js';
export { copyScripts, type ScriptCopy } from './spilo/scripts.js';
export { appendExtensions, keepInstalled } from './spilo/extensions.js';
export { walEnvironment } from './spilo/wal-env.js';
