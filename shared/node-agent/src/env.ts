// Container environment resolved the way kubelet does it (pkg/kubelet/kubelet_pods.go makeEnvironmentVariables):
// service variables lowest, then envFrom sources in order, then `env` entries in order; `$(NAME)` in a
// value expands to a variable defined before it, `$$` is a literal `$`. A missing non-optional Secret,
// ConfigMap or key is a CreateContainerConfigError, reported with kubelet's wording.
import type { V1Container, V1EnvVar, V1ObjectFieldSelector, V1Pod, V1ResourceFieldSelector } from '@kubernetes/client-node';
import { parseQuantity } from './quantity.js';

/** Reads referenced objects of the pod's namespace; `undefined` when the object does not exist. */
export interface EnvSources {
  secret(name: string): Promise<Readonly<Record<string, string>> | undefined>;
  configMap(name: string): Promise<Readonly<Record<string, string>> | undefined>;
}

/** What kubelet knows about the pod beyond its manifest. */
export interface PodRuntimeFacts {
  readonly podIP: string;
  readonly hostIP: string;
  /** Node allocatable, used for resourceFieldRefs of containers without limits. */
  readonly nodeCpu: number;
  readonly nodeMemoryBytes: number;
}

/** A configuration problem of the pod that keeps a container from starting (kubelet: CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError';
}

/** Where a container's environment comes from besides its spec. */
export interface EnvContext {
  readonly sources: EnvSources;
  readonly facts: PodRuntimeFacts;
  /** The Service variables kubelet adds (`<NAME>_SERVICE_HOST`, …). */
  readonly serviceEnv?: Readonly<Record<string, string>>;
}

export async function resolveContainerEnv(pod: V1Pod, container: V1Container, context: EnvContext): Promise<Record<string, string>> {
  const { sources, facts, serviceEnv = {} } = context;
  const namespace = pod.metadata?.namespace ?? 'default';
  const defined: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef !== undefined) {
      const data = await sources.configMap(from.configMapRef.name ?? '');
      if (data === undefined && from.configMapRef.optional !== true)
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      for (const [key, value] of Object.entries(data ?? {})) defined[prefix + key] = value;
    }
    if (from.secretRef !== undefined) {
      const data = await sources.secret(from.secretRef.name ?? '');
      if (data === undefined && from.secretRef.optional !== true)
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      for (const [key, value] of Object.entries(data ?? {})) defined[prefix + key] = value;
    }
  }
  for (const entry of container.env ?? []) {
    const value = await envValue(entry, { pod, container, namespace, sources, facts, known: { ...serviceEnv, ...defined } });
    if (value !== undefined) defined[entry.name] = value;
  }
  return { ...serviceEnv, ...defined };
}

interface EnvScope {
  readonly pod: V1Pod;
  readonly container: V1Container;
  readonly namespace: string;
  readonly sources: EnvSources;
  readonly facts: PodRuntimeFacts;
  /** Variables defined so far, for $(VAR) expansion. */
  readonly known: Readonly<Record<string, string>>;
}

async function envValue(entry: V1EnvVar, scope: EnvScope): Promise<string | undefined> {
  const { pod, container, namespace, sources, facts, known } = scope;
  const from = entry.valueFrom;
  if (from === undefined) return expand(entry.value ?? '', known);
  if (from.fieldRef !== undefined) return fieldValue(from.fieldRef, pod, facts);
  if (from.resourceFieldRef !== undefined) return resourceValue(from.resourceFieldRef, pod, container, facts);
  if (from.secretKeyRef !== undefined) {
    const { name = '', key, optional } = from.secretKeyRef;
    const data = await sources.secret(name);
    if (data === undefined) {
      if (optional === true) return undefined;
      throw new ContainerConfigError(`secret "${name}" not found`);
    }
    if (data[key] === undefined) {
      if (optional === true) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in Secret ${namespace}/${name}`);
    }
    return data[key];
  }
  if (from.configMapKeyRef !== undefined) {
    const { name = '', key, optional } = from.configMapKeyRef;
    const data = await sources.configMap(name);
    if (data === undefined) {
      if (optional === true) return undefined;
      throw new ContainerConfigError(`configmap "${name}" not found`);
    }
    if (data[key] === undefined) {
      if (optional === true) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${namespace}/${name}`);
    }
    return data[key];
  }
  return expand(entry.value ?? '', known);
}

/** The downward-API field paths kubelet supports for env (pkg/fieldpath and podFieldSelectorRuntimeValue). */
export function fieldValue(selector: V1ObjectFieldSelector, pod: V1Pod, facts: PodRuntimeFacts): string {
  const path = selector.fieldPath;
  const meta = pod.metadata ?? {};
  const mapKey = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (mapKey !== null) {
    const map = mapKey[1] === 'labels' ? meta.labels : meta.annotations;
    return map?.[mapKey[2] as string] ?? '';
  }
  switch (path) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
      return formatMap(meta.labels);
    case 'metadata.annotations':
      return formatMap(meta.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return facts.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return facts.podIP;
    default:
      throw new ContainerConfigError(`unsupported fieldRef fieldPath "${path}"`);
  }
}

/** `key="value"` lines, sorted, as the downward API renders a map. */
function formatMap(map: Readonly<Record<string, string>> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(map?.[k])}`)
    .join('\n');
}

/** limits/requests of a container, divided and rounded up like kubelet's ExtractContainerResourceValue. */
export function resourceValue(selector: V1ResourceFieldSelector, pod: V1Pod, container: V1Container, facts: PodRuntimeFacts): string {
  const target =
    selector.containerName !== undefined && selector.containerName !== ''
      ? (pod.spec?.containers.find((c) => c.name === selector.containerName) ?? container)
      : container;
  const [kind, resource = ''] = selector.resource.split('.');
  if ((kind !== 'limits' && kind !== 'requests') || !['cpu', 'memory', 'ephemeral-storage'].includes(resource)) {
    throw new ContainerConfigError(`unsupported resourceFieldRef resource "${selector.resource}"`);
  }
  const isCpu = resource === 'cpu';
  const divisor = parseQuantity(String(selector.divisor ?? '1'));
  const limit = target.resources?.limits?.[resource];
  const request = target.resources?.requests?.[resource] ?? limit;
  const raw = kind === 'limits' ? limit : request;
  // Kubelet defaults an unset limit to node allocatable and an unset request to zero.
  const fallback = kind === 'limits' ? (isCpu ? facts.nodeCpu : facts.nodeMemoryBytes) : 0;
  const value = raw === undefined ? fallback : parseQuantity(String(raw));
  return String(Math.ceil(value / divisor));
}

/** Kubernetes' `$(VAR)` expansion (third_party/forked/golang/expansion): unknown references stay as written. */
export function expand(input: string, known: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      out += Object.hasOwn(known, name) ? known[name] : `$(${name})`;
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}
