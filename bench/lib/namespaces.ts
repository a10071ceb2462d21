// The namespaces every bench run uses. A module of its own, so that what only needs a name (the
// operator ConfigMap's reference, tests reading it) does not import the stack that starts a control plane.

/** The operators' configuration lives here. */
export const SYSTEM_NAMESPACE = 'bench-system';
/** The clusters live here. */
export const CLUSTER_NAMESPACE = 'bench';
/** The namespace of pgfn's Knative objects; its receive adapters expect it to exist. */
export const PGFN_NAMESPACE = 'pgfn-system';
