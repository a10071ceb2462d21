// Where each kind lives in the REST API. The kinds pgfn reads and writes are known in advance, so
// their paths are static and a cold function makes no discovery requests (ADR 0011); any other kind
// is looked up once per API group version and cached, as client-node's KubernetesObjectApi does.

/** How a kind is addressed: its plural resource name and whether it lives in a namespace. */
export interface ResourceInfo {
  readonly plural: string;
  readonly namespaced: boolean;
}

/** Keyed by `apiVersion/kind`; the values are fixed by the Kubernetes API and our CRDs (crds/). */
export const KNOWN_RESOURCES: ReadonlyMap<string, ResourceInfo> = new Map(
  Object.entries({
    'v1/Pod': ns('pods'),
    'v1/Service': ns('services'),
    'v1/Endpoints': ns('endpoints'),
    'v1/Secret': ns('secrets'),
    'v1/ConfigMap': ns('configmaps'),
    'v1/ServiceAccount': ns('serviceaccounts'),
    'v1/PersistentVolumeClaim': ns('persistentvolumeclaims'),
    'v1/Event': ns('events'),
    'v1/PersistentVolume': cluster('persistentvolumes'),
    'v1/Node': cluster('nodes'),
    'v1/Namespace': cluster('namespaces'),
    'apps/v1/StatefulSet': ns('statefulsets'),
    'apps/v1/Deployment': ns('deployments'),
    'policy/v1/PodDisruptionBudget': ns('poddisruptionbudgets'),
    'batch/v1/CronJob': ns('cronjobs'),
    'batch/v1/Job': ns('jobs'),
    'coordination.k8s.io/v1/Lease': ns('leases'),
    'rbac.authorization.k8s.io/v1/Role': ns('roles'),
    'rbac.authorization.k8s.io/v1/RoleBinding': ns('rolebindings'),
    'rbac.authorization.k8s.io/v1/ClusterRole': cluster('clusterroles'),
    'rbac.authorization.k8s.io/v1/ClusterRoleBinding': cluster('clusterrolebindings'),
    'storage.k8s.io/v1/StorageClass': cluster('storageclasses'),
    // crds/*.yaml
    'acid.zalan.do/v1/postgresql': ns('postgresqls'),
    'acid.zalan.do/v1/PostgresTeam': ns('postgresteams'),
    'acid.zalan.do/v1/OperatorConfiguration': ns('operatorconfigurations'),
  }),
);

function ns(plural: string): ResourceInfo {
  return { plural, namespaced: true };
}

function cluster(plural: string): ResourceInfo {
  return { plural, namespaced: false };
}

/** `/api/v1` for the core group, `/apis/<group>/<version>` otherwise. */
export function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** One entry of an APIResourceList (`GET /apis/<group>/<version>`), as far as we need it. */
export interface DiscoveredResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** The top-level resource of `kind` in a discovery answer; subresources (`pods/status`) share the kind. */
export function findResource(resources: readonly DiscoveredResource[], kind: string): ResourceInfo | undefined {
  const found = resources.find((r) => r.kind === kind && !r.name.includes('/'));
  return found === undefined ? undefined : { plural: found.name, namespaced: found.namespaced };
}

export interface PathParts {
  readonly apiVersion: string;
  readonly resource: ResourceInfo;
  /** Ignored for cluster-scoped kinds; `undefined` for a namespaced kind means all namespaces (lists). */
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

/** The REST path of a collection (no name) or of one object. */
export function resourcePath(p: PathParts): string {
  const parts = [groupVersionPath(p.apiVersion)];
  if (p.resource.namespaced && p.namespace !== undefined && p.namespace !== '')
    parts.push('namespaces', pathSegment('namespace', p.namespace));
  parts.push(p.resource.plural);
  if (p.name !== undefined) parts.push(pathSegment('name', p.name));
  if (p.subresource !== undefined) parts.push(p.subresource);
  return parts.join('/');
}

/**
 * A name as one path segment. "." and ".." are refused: URL resolution would treat them as dot
 * segments, so a namespace ".." listed Secrets of every namespace and a Secret named ".." read the
 * Namespace object. No Kubernetes object can have either name.
 */
function pathSegment(what: string, value: string): string {
  if (value === '.' || value === '..') throw new Error(`${what} ${JSON.stringify(value)} is not a Kubernetes name`);
  return encodeURIComponent(value);
}
