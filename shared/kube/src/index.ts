export { FIELD_MANAGER, KubeClient, refOf, statusCode } from './client.js';
export type { ObjectRef, RequestObserver } from './client.js';
export { loadKubeConfig } from './config.js';
