export { FIELD_MANAGER } from '@pgfn/builder';
export { KubeClient, refOf, statusCode } from './client.js';
export type { KubeClientOptions, ObjectRef, RequestObserver } from './client.js';
export { loadKubeConfig } from './config.js';
export { isNamespaceTerminating } from './namespace-terminating.js';
export { exitCodeOf, podExec } from './pod-exec.js';
export type { ExecRequest, ExecResult, PodExec } from './pod-exec.js';
export { DEFAULT_RETRY, parseRetryAfter, retryDelayMs, retryPolicy, sleep, withRetry } from './retry-policy.js';
export type { RetryOptions, RetryPolicy } from './retry-policy.js';
