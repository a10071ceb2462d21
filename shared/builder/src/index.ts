// Public API of @pgfn/builder: pure functions from (postgresql, operator configuration, inputs read
// beforehand) to the Kubernetes objects of a cluster, plus names, labels, hashes, comparison and
// validation. buildCluster (build-cluster.ts) is the entry point; the rest is exported for callers
// that need one piece (the reconcile, rolling-update and role-sync functions, tests, the render CLI).
export * from './build-cluster.js';
export * from './clone-standby-env.js';
export * from './cluster-name.js';
export * from './compare.js';
export * from './endpoints.js';
export * from './env-vars.js';
export * from './inputs.js';
export * from './instances.js';
export * from './labels.js';
export * from './logical-backup.js';
export * from './managed-fields.js';
export * from './names.js';
export * from './normalize.js';
export * from './object-keys.js';
export * from './object-meta.js';
export * from './owner.js';
export * from './password-changes.js';
export * from './password-rotation.js';
export * from './pdb.js';
export * from './pod-service-account.js';
export * from './pod-template-hash.js';
export * from './pod-template.js';
export * from './pod-volumes.js';
export * from './pooler-labels.js';
export * from './pooler-service.js';
export * from './pooler-settings.js';
export * from './pooler.js';
export * from './prepared-roles.js';
export * from './quantity.js';
export * from './resources.js';
export * from './scheduling.js';
export * from './secret-holders.js';
export * from './secrets.js';
export * from './services.js';
export * from './sidecars.js';
export * from './spilo-config.js';
export * from './spilo-container.js';
export * from './spilo-env.js';
export * from './statefulset.js';
export * from './tls.js';
export * from './users.js';
export * from './validation-users.js';
export * from './validation.js';
export * from './render.js';
