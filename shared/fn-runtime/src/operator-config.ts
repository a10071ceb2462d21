import type { KubernetesObject, V1ConfigMap } from '@kubernetes/client-node';
import {
  API_VERSION,
  DEFAULT_OPERATOR_CONFIG,
  OPERATOR_CONFIGURATION_KIND,
  fromConfigMap,
  fromOperatorConfiguration,
  type OperatorConfig,
  type OperatorConfiguration,
} from '@pgfn/api';
import type { KubeClient } from '@pgfn/kube';

// The operator configuration every function reads, from the same places upstream's operator does.

/** Where the operator configuration lives, from the same env variables upstream's operator reads. */
export interface ConfigSource {
  /** POSTGRES_OPERATOR_CONFIGURATION_OBJECT: name of an OperatorConfiguration in `namespace`. */
  readonly object?: string;
  /** CONFIG_MAP_NAME: `name` or `namespace/name` of the flat ConfigMap form. */
  readonly configMap?: string;
  /** OPERATOR_NAMESPACE (or POD_NAMESPACE): where the configuration objects live. */
  readonly namespace: string;
}

export function configSourceFromEnv(env: NodeJS.ProcessEnv = process.env): ConfigSource {
  return {
    object: env['POSTGRES_OPERATOR_CONFIGURATION_OBJECT'] || undefined,
    configMap: env['CONFIG_MAP_NAME'] || undefined,
    namespace: env['OPERATOR_NAMESPACE'] || env['POD_NAMESPACE'] || 'default',
  };
}

/** The operator configuration at most `maxAgeMs` old (0 or absent: read now). */
export type ConfigLoader = (maxAgeMs?: number) => Promise<LoadedConfig>;

export interface LoadedConfig {
  readonly config: OperatorConfig;
  /** Keys with bad values (reported; the rest of the configuration still applies). */
  readonly problems: readonly string[];
}

/**
 * Reads the configuration fresh on every invocation: a function may be cold-started long after the
 * last change, and an event about the configuration may never arrive. A failed read throws (the
 * invocation is retried), never falls back to defaults silently; only an unset source means defaults.
 */
export async function loadOperatorConfig(kube: KubeClient, source: ConfigSource): Promise<LoadedConfig> {
  if (source.object !== undefined) {
    const obj = await kube.get<OperatorConfiguration & KubernetesObject>({
      apiVersion: API_VERSION,
      kind: OPERATOR_CONFIGURATION_KIND,
      namespace: source.namespace,
      name: source.object,
    });
    if (obj === undefined) throw new Error(`OperatorConfiguration ${source.namespace}/${source.object} not found`);
    const { config, errors } = fromOperatorConfiguration(obj);
    return { config, problems: errors.map(describeProblem) };
  }
  if (source.configMap !== undefined) {
    const [ns, name] = source.configMap.includes('/') ? source.configMap.split('/', 2) : [source.namespace, source.configMap];
    const cm = await kube.get<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: name ?? '' });
    if (cm === undefined) throw new Error(`ConfigMap ${ns}/${name} not found`);
    const { config, errors } = fromConfigMap(cm.data ?? {});
    return { config, problems: errors.map(describeProblem) };
  }
  return { config: DEFAULT_OPERATOR_CONFIG, problems: [] };
}

function describeProblem(e: unknown): string {
  if (typeof e === 'string') return e;
  if (typeof e === 'object' && e !== null && 'message' in e) return String(e.message);
  return JSON.stringify(e);
}

/**
 * A loader that may answer from its last read when the caller accepts that age: status refreshes
 * driven by pod events accept a few seconds, full reconciles always read afresh. Concurrent callers
 * share one read in flight.
 */
export function cachedLoader(load: () => Promise<LoadedConfig>, clock: () => number = () => Date.now()): ConfigLoader {
  let last: { at: number; value: LoadedConfig } | undefined;
  let inFlight: Promise<LoadedConfig> | undefined;
  return async (maxAgeMs = 0) => {
    if (last !== undefined && maxAgeMs > 0 && clock() - last.at <= maxAgeMs) return last.value;
    inFlight ??= (async () => {
      const at = clock();
      try {
        const value = await load();
        last = { at, value };
        return value;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };
}
