// Fixtures for the StatefulSet builder tests: a fully defaulted, mutable operator configuration
// and a minimal valid postgresql object.
import type { V1Container, V1EnvVar, V1ObjectMeta, V1StatefulSet } from '@kubernetes/client-node';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig, type Postgresql, type PostgresSpec } from '@pgfn/api';

export function makeConfig(overrides: Partial<OperatorConfig> = {}): OperatorConfig {
  return { ...(structuredClone(DEFAULT_OPERATOR_CONFIG) as OperatorConfig), ...overrides };
}

/**
 * The configuration upstream's unit tests run with (a zero-valued Go struct): no PGVERSION env, no
 * PDB bootstrap labels; ConfigMaps for Patroni (a nil pointer means true there).
 */
export function upstreamTestConfig(overrides: Partial<OperatorConfig> = {}): OperatorConfig {
  return makeConfig({ enablePgversionEnvVar: false, enablePodDisruptionBudget: false, kubernetesUseConfigmaps: true, ...overrides });
}

export function makeCluster(spec: Partial<PostgresSpec> = {}, metadata: Partial<V1ObjectMeta> = {}): Postgresql {
  return {
    apiVersion: 'acid.zalan.do/v1',
    kind: 'postgresql',
    metadata: { name: 'acid-test-cluster', namespace: 'default', uid: 'efd12e58-5786-11e8-b5a7-06148230260c', ...metadata },
    spec: {
      teamId: 'acid',
      numberOfInstances: 2,
      postgresql: { version: '15' },
      volume: { size: '1Gi' },
      ...spec,
    },
  };
}

export function envNames(env: readonly V1EnvVar[] | undefined): string[] {
  return (env ?? []).map((e) => e.name);
}

export function envValue(env: readonly V1EnvVar[] | undefined, name: string): string | undefined {
  return (env ?? []).find((e) => e.name === name)?.value;
}

export function container(sts: V1StatefulSet, name: string): V1Container {
  const found = sts.spec?.template.spec?.containers.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no container ${name}`);
  return found;
}
