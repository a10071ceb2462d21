// @pgfn/fn-runtime, the function kit: everything a pgfn function needs besides its own decisions
// (docs/adding-a-function.md). Pure helpers and effectful ones alike; each module one concept.
export { createKit, runFunction, startFunction } from './function.js';
export type { Kit, StartOptions } from './function.js';
export { functionEnv, positiveNumber, watches } from './env.js';
export type { FunctionEnv } from './env.js';
export { createCloudEventServer, OUTCOME_HEADER } from './server.js';
export { answerEvent, parseCloudEvent } from './receive.js';
export type { Answer, CloudEventAppOptions, EventHandler, HandlerContext, Outcome } from './receive.js';
export {
  APISERVER_REF_PREFIX,
  APISERVER_RESOURCE_PREFIX,
  PGFN_PREFIX,
  PING_TYPE,
  apiServerEvent,
  clusterRefOf,
  subjectRef,
} from './event-types.js';
export type { ApiServerEvent, ObjectLike } from './event-types.js';
export { RetryableError, TerminalError, isTerminal } from './errors.js';
export { createLogger, REDACTED_PATHS } from './logger.js';
export type { Logger } from './logger.js';
export { createMetrics } from './metrics.js';
export type { FunctionMetrics } from './metrics.js';
export { createEmitter } from './emitter.js';
export type { Emit } from './emitter.js';
export { eventRecorder } from './kube-events.js';
export type { EventRecord, RecordEvent, RecorderOptions } from './kube-events.js';
export { mergeCondition, rfc3339, setCondition, transitionTime, writeStatus } from './status-write.js';
export type { ConditionInput, StatusWrite } from './status-write.js';
export { directReach, findMaster, masterFailure } from './master.js';
export { SPILO_BACKUP_COMMAND } from './spilo-backup.js';
export type { MasterLookup, Reach } from './master.js';
export { forEachLimited, mapLimited } from './limit.js';
export { byCodeUnit } from './order.js';
export { ClusterLease, clusterLeaseName } from './lease.js';
export { isNamespaceTerminating } from '@pgfn/kube';
export type { LeaseOptions, LeaseState } from './lease.js';
export { cachedLoader, configSourceFromEnv, loadOperatorConfig } from './operator-config.js';
export type { ConfigLoader, ConfigSource, LoadedConfig } from './operator-config.js';
export { randomPassword } from './passwords.js';
export { VOLUMES_RESIZED, VOLUMES_UP_TO_DATE } from './volume-condition.js';
