// Container resource requirements as upstream computes them (pkg/cluster/k8sres.go:
// makeDefaultResources, fillResourceList, generateResourceRequirements, enforceMinResourceLimits,
// enforceMaxResourceRequests, matchLimitsWithRequestsIfSmaller, setMemoryRequestToLimit).
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql, ResourceDescription, Resources } from '@pgfn/api';
import { compareQuantities, isQuantity, isZeroQuantity } from './quantity.js';

export type ResourceConfig = Pick<
  OperatorConfig,
  | 'defaultCpuRequest'
  | 'defaultMemoryRequest'
  | 'defaultCpuLimit'
  | 'defaultMemoryLimit'
  | 'minCpuLimit'
  | 'minMemoryLimit'
  | 'maxCpuRequest'
  | 'maxMemoryRequest'
  | 'setMemoryRequestToLimit'
  | 'ignoreResourcesLimitsAnnotationKey'
>;

type ResourceList = Record<string, string>;

/** Values upstream treats as "not set" for cpu and memory. */
const EMPTY_VALUES = new Set(['', '0', 'null']);
const HUGE_PAGES = ['hugepages-2Mi', 'hugepages-1Gi'] as const;

/** The defaults from config default_{cpu,memory}_{request,limit}. */
export function defaultResources(config: ResourceConfig): Resources {
  return {
    requests: { cpu: config.defaultCpuRequest, memory: config.defaultMemoryRequest },
    limits: { cpu: config.defaultCpuLimit, memory: config.defaultMemoryLimit },
  };
}

/**
 * False when the CR carries the configured ignore_resources_limits_annotation_key set to "true":
 * then min limits and max requests are not enforced.
 */
export function enforcesThresholds(cluster: Pick<Postgresql, 'metadata'>, config: ResourceConfig): boolean {
  const key = config.ignoreResourcesLimitsAnnotationKey;
  return key === '' || cluster.metadata.annotations?.[key] !== 'true';
}

export interface ResourceOptions {
  /** Where the resources came from, for error messages (e.g. "spec.resources"). */
  readonly path: string;
  /** Apply min_{cpu,memory}_limit and max_{cpu,memory}_request (the postgres container only). */
  readonly enforceThresholds: boolean;
}

/** Requests and limits of one container: the spec's values, else the defaults, then upstream's adjustments. */
export function resourceRequirements(
  spec: Resources | undefined,
  defaults: Resources,
  config: ResourceConfig,
  options: ResourceOptions,
): V1ResourceRequirements {
  const requests = fillResourceList(spec?.requests, defaults.requests, `${options.path}.requests`);
  const limits = fillResourceList(spec?.limits, defaults.limits, `${options.path}.limits`);
  if (options.enforceThresholds) {
    raiseToMinimum(limits, 'cpu', config.minCpuLimit, 'min_cpu_limit');
    raiseToMinimum(limits, 'memory', config.minMemoryLimit, 'min_memory_limit');
  }
  // Requests above limits are invalid: lift the limit rather than lower the request.
  for (const name of ['cpu', 'memory'] as const) {
    const request = requests[name];
    const limit = limits[name];
    if (request !== undefined && limit !== undefined && compareQuantities(limit, request) < 0) limits[name] = request;
  }
  if (config.setMemoryRequestToLimit) {
    const request = requests['memory'] ?? '0';
    const limit = limits['memory'] ?? '0';
    if (compareQuantities(request, limit) < 0) requests['memory'] = limit;
  }
  if (options.enforceThresholds) {
    capAtMaximum(requests, 'cpu', config.maxCpuRequest, 'max_cpu_request');
    capAtMaximum(requests, 'memory', config.maxMemoryRequest, 'max_memory_request');
  }
  return compactRequirements(requests, limits);
}

/** Resources of the postgres (Spilo) container. */
export function postgresResources(cluster: Pick<Postgresql, 'metadata' | 'spec'>, config: ResourceConfig): V1ResourceRequirements {
  return resourceRequirements(cluster.spec.resources, defaultResources(config), config, {
    path: 'spec.resources',
    enforceThresholds: enforcesThresholds(cluster, config),
  });
}

function fillResourceList(spec: ResourceDescription | undefined, defaults: ResourceDescription | undefined, path: string): ResourceList {
  const out: ResourceList = {};
  for (const name of ['cpu', 'memory'] as const) {
    const own = spec?.[name];
    const fallback = defaults?.[name];
    if (own !== undefined && !EMPTY_VALUES.has(own)) out[name] = checked(own, `${path}.${name}`);
    else if (fallback !== undefined && !EMPTY_VALUES.has(fallback)) out[name] = checked(fallback, `default for ${path}.${name}`);
  }
  // Huge pages come from the manifest only; there are no configured defaults.
  for (const name of HUGE_PAGES) {
    const own = spec?.[name];
    if (own !== undefined) out[name] = checked(own, `${path}.${name}`);
  }
  return out;
}

function checked(value: string, path: string): string {
  if (!isQuantity(value)) throw new Error(`${path}: "${value}" is not a Kubernetes quantity (examples: 500m, 2, 1Gi)`);
  return value.trim();
}

/** A missing limit counts as 0 here, so a configured minimum also creates the limit (as upstream does). */
function raiseToMinimum(limits: ResourceList, name: 'cpu' | 'memory', minimum: string, key: string): void {
  if (minimum === '') return;
  checked(minimum, `configuration ${key}`);
  if (compareQuantities(limits[name] ?? '0', minimum) < 0) limits[name] = minimum;
}

/** Lowers a request to the configured maximum; no maximum, or a zero result, leaves it alone. */
function capAtMaximum(requests: ResourceList, name: 'cpu' | 'memory', maximum: string, key: string): void {
  const request = requests[name];
  if (maximum === '' || request === undefined) return;
  checked(maximum, `configuration ${key}`);
  if (compareQuantities(maximum, request) < 0 && !isZeroQuantity(maximum)) requests[name] = maximum;
}

function compactRequirements(requests: ResourceList, limits: ResourceList): V1ResourceRequirements {
  const out: V1ResourceRequirements = {};
  if (Object.keys(limits).length > 0) out.limits = limits;
  if (Object.keys(requests).length > 0) out.requests = requests;
  return out;
}
