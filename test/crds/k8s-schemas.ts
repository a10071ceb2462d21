// Turns Kubernetes' own OpenAPI v3 definitions (as served by kube-apiserver at /openapi/v3/api/v1)
// into the structural schemas a CustomResourceDefinition may embed. Our CRDs embed a few core/v1
// types (Container, Probe, NodeAffinity, …) the way upstream's controller-gen output does: fully
// spelled out, so the apiserver validates and prunes them like it would in a Pod. This module is
// the single place that knows how; crds.test.ts checks the committed CRDs against it and rewrites
// them when PGFN_UPDATE_CRDS=1.

/** A JSON schema node, loose on purpose: both OpenAPI input and CRD output pass through here. */
export type Schema = { [key: string]: unknown };

/** One place in one of our CRDs where a Kubernetes type is embedded. */
export interface Embedding {
  readonly crd: string;
  /** Path of keys from the CRD's openAPIV3Schema down to the embedded node. */
  readonly path: readonly string[];
  /** OpenAPI definition name, e.g. io.k8s.api.core.v1.Container. */
  readonly definition: string;
  /** A sentence of our own that `kubectl explain` shows at the embedding site. */
  readonly description: string;
}

const CORE = 'io.k8s.api.core.v1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

// Kubernetes' resource.Quantity grammar written as one regular expression (sign, number, then a
// binary-SI suffix, a decimal-SI suffix or an exponent).
const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

// Only defaults Kubernetes declares with an explicit +default marker survive into a CRD (this is what
// controller-gen emits, so upstream stores the same values). The OpenAPI document also lists zero values
// of non-pointer fields as defaults; copying those would add empty strings to every stored object.
const KEPT_DEFAULTS: ReadonlySet<string> = new Set([
  `${CORE}.ConfigMapKeySelector.name`,
  `${CORE}.SecretKeySelector.name`,
  `${CORE}.ConfigMapEnvSource.name`,
  `${CORE}.SecretEnvSource.name`,
  `${CORE}.FileKeySelector.optional`,
  `${CORE}.GRPCAction.service`,
  `${CORE}.ContainerPort.protocol`,
]);

// Keywords a CRD schema accepts and that carry meaning for validation, pruning or server-side apply.
// `enum` is dropped on purpose: Kubernetes' enums are advisory in Pods, and upstream does not enforce them.
const KEPT_KEYWORDS = [
  'type',
  'format',
  'required',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
] as const;

const POSTGRESQL = 'postgresql.crd.yaml';
const OPCONFIG = 'operatorconfiguration.crd.yaml';
const SPEC = ['properties', 'spec', 'properties'];
const KUBE_CONFIG = ['properties', 'configuration', 'properties', 'kubernetes', 'properties'];

/** Every core/v1 or meta/v1 type our CRDs embed (upstream: pkg/apis/acid.zalan.do/v1/*_type.go). */
export const EMBEDDINGS: readonly Embedding[] = [
  {
    crd: POSTGRESQL,
    path: [...SPEC, 'initContainers', 'items'],
    definition: `${CORE}.Container`,
    description: 'A Kubernetes core/v1 Container, run before Postgres in every pod.',
  },
  {
    crd: POSTGRESQL,
    path: [...SPEC, 'init_containers', 'items'],
    definition: `${CORE}.Container`,
    description: 'A Kubernetes core/v1 Container (deprecated spelling of initContainers).',
  },
  {
    crd: POSTGRESQL,
    path: [...SPEC, 'nodeAffinity'],
    definition: `${CORE}.NodeAffinity`,
    description: 'Kubernetes core/v1 NodeAffinity for the Postgres pods.',
  },
  {
    crd: POSTGRESQL,
    path: [...SPEC, 'tolerations', 'items'],
    definition: `${CORE}.Toleration`,
    description: 'A Kubernetes core/v1 Toleration for the Postgres pods.',
  },
  {
    crd: POSTGRESQL,
    path: [...SPEC, 'topologySpreadConstraints', 'items'],
    definition: `${CORE}.TopologySpreadConstraint`,
    description: 'A Kubernetes core/v1 TopologySpreadConstraint for the Postgres pods.',
  },
  {
    crd: POSTGRESQL,
    path: [...SPEC, 'livenessProbe'],
    definition: `${CORE}.Probe`,
    description: 'A Kubernetes core/v1 Probe used as the liveness probe of the Postgres container.',
  },
  {
    crd: POSTGRESQL,
    path: [...SPEC, 'env', 'items'],
    definition: `${CORE}.EnvVar`,
    description: 'A Kubernetes core/v1 EnvVar added to the Postgres container.',
  },
  {
    crd: POSTGRESQL,
    path: [...SPEC, 'envFrom', 'items'],
    definition: `${CORE}.EnvFromSource`,
    description: 'A Kubernetes core/v1 EnvFromSource added to the Postgres container.',
  },
  {
    crd: POSTGRESQL,
    path: [...SPEC, 'sidecars', 'items', 'properties', 'ports', 'items'],
    definition: `${CORE}.ContainerPort`,
    description: 'A Kubernetes core/v1 ContainerPort of the sidecar.',
  },
  {
    crd: POSTGRESQL,
    path: [...SPEC, 'sidecars', 'items', 'properties', 'env', 'items'],
    definition: `${CORE}.EnvVar`,
    description: 'A Kubernetes core/v1 EnvVar of the sidecar.',
  },
  {
    crd: POSTGRESQL,
    path: [...SPEC, 'volume', 'properties', 'selector'],
    definition: `${META}.LabelSelector`,
    description: 'A label selector (meta/v1 LabelSelector) that the PersistentVolumeClaims use to pick existing volumes.',
  },
  {
    crd: OPCONFIG,
    path: [...KUBE_CONFIG, 'liveness_probe'],
    definition: `${CORE}.Probe`,
    description: 'A Kubernetes core/v1 Probe used as the default liveness probe of the Postgres container.',
  },
];

/** The definitions map of an OpenAPI v3 document. */
export function definitionsOf(openapi: unknown): Record<string, Schema> {
  const schemas = (openapi as { components?: { schemas?: Record<string, Schema> } }).components?.schemas;
  if (schemas === undefined) throw new Error('the OpenAPI document has no components.schemas');
  return schemas;
}

/** The structural schema of `definition`, with `description` set at its root. */
export function embeddedSchema(definitions: Record<string, Schema>, definition: string, description: string): Schema {
  return { description, ...convertDefinition(definitions, definition, []) };
}

function convertDefinition(definitions: Record<string, Schema>, name: string, stack: readonly string[]): Schema {
  if (name === INT_OR_STRING) return { anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true };
  if (name === QUANTITY)
    return { anyOf: [{ type: 'integer' }, { type: 'string' }], pattern: QUANTITY_PATTERN, 'x-kubernetes-int-or-string': true };
  if (stack.includes(name)) throw new Error(`definition ${name} is recursive, which a structural schema cannot express`);
  const def = definitions[name];
  if (def === undefined) throw new Error(`the OpenAPI document has no definition ${name}`);
  return convertNode(definitions, def, [...stack, name]);
}

function referenceOf(node: Schema): string | undefined {
  const direct = node['$ref'];
  if (typeof direct === 'string') return direct.split('/').pop();
  const allOf = node['allOf'];
  if (Array.isArray(allOf) && allOf.length === 1) return referenceOf(allOf[0] as Schema);
  return undefined;
}

function convertNode(definitions: Record<string, Schema>, node: Schema, stack: readonly string[]): Schema {
  const ref = referenceOf(node);
  if (ref !== undefined) return convertDefinition(definitions, ref, stack);
  const out: Schema = {};
  for (const key of KEPT_KEYWORDS) if (node[key] !== undefined) out[key] = node[key];
  if (out['format'] !== 'int32' && out['format'] !== 'int64' && out['format'] !== 'byte') delete out['format'];
  if (Array.isArray(out['required'])) out['required'] = [...(out['required'] as string[])].sort();
  const properties = node['properties'] as Record<string, Schema> | undefined;
  if (properties !== undefined) out['properties'] = convertProperties(definitions, properties, stack);
  if (node['items'] !== undefined) out['items'] = convertNode(definitions, node['items'] as Schema, stack);
  if (node['additionalProperties'] !== undefined) {
    // Drop the zero-value default that OpenAPI puts on map values (e.g. matchLabels).
    const { default: _unused, ...values } = convertNode(definitions, node['additionalProperties'] as Schema, stack);
    out['additionalProperties'] = values;
  }
  return sortKeys(out);
}

function convertProperties(definitions: Record<string, Schema>, properties: Record<string, Schema>, stack: readonly string[]): Schema {
  const owner = stack[stack.length - 1] ?? '';
  const out: Schema = {};
  for (const name of Object.keys(properties).sort()) {
    const property = properties[name] as Schema;
    const converted = convertNode(definitions, property, stack);
    if (property['default'] !== undefined && KEPT_DEFAULTS.has(`${owner}.${name}`)) converted['default'] = property['default'];
    out[name] = sortKeys(converted);
  }
  return out;
}

function sortKeys(node: Schema): Schema {
  const out: Schema = {};
  for (const key of Object.keys(node).sort()) out[key] = node[key];
  return out;
}

/** Removes every `description`, so committed and generated schemas compare on meaning only. */
export function withoutDescriptions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDescriptions);
  if (typeof node !== 'object' || node === null) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'description') continue;
    out[key] =
      key === 'properties'
        ? Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, withoutDescriptions(v)]))
        : withoutDescriptions(value);
  }
  return out;
}
