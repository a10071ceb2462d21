export { DEFAULT_RETRY, FIELD_MANAGER, KubeClient, refOf, statusCode } from './client.js';
export type { ObjectRef, RequestObserver, RetryPolicy } from './client.js';
export { loadKubeConfig } from './config.js';
export { RestClient } from './rest.js';
export type { RestRequest } from './rest.js';
