// Fixtures shared by the builder tests: a small valid cluster, the default configuration with
// overrides, and build inputs with a fixed clock and numbered passwords.
import { Buffer } from 'node:buffer';
import type { V1Secret } from '@kubernetes/client-node';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig, type Postgresql, type PostgresSpec } from '@pgfn/api';
import type { BuildInputs } from '@pgfn/builder';

export const NOW = new Date('2026-03-01T12:00:00Z');

/**
 * The defaults of config.go, but without a master load balancer (config.go defaults it on; upstream's
 * shipped ConfigMap and OperatorConfiguration switch it off), plus overrides.
 */
export function config(overrides: Partial<OperatorConfig> = {}): OperatorConfig {
  return { ...(structuredClone(DEFAULT_OPERATOR_CONFIG) as OperatorConfig), enableMasterLoadBalancer: false, ...overrides };
}

export function cluster(spec: Partial<PostgresSpec> = {}, metadata: Partial<Postgresql['metadata']> = {}): Postgresql {
  return {
    apiVersion: 'acid.zalan.do/v1',
    kind: 'postgresql',
    metadata: { name: 'acid-test', namespace: 'test', ...metadata },
    spec: { teamId: 'acid', numberOfInstances: 2, postgresql: { version: '17' }, volume: { size: '1Gi' }, ...spec },
  };
}

export function numberedPasswords(prefix = 'pw'): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

export function inputs(c: Postgresql, cfg: OperatorConfig = config(), extra: Partial<BuildInputs> = {}): BuildInputs {
  return { cluster: c, config: cfg, existingSecrets: new Map(), newPassword: numberedPasswords(), now: NOW, ...extra };
}

export function decode(secret: V1Secret | undefined, key: string): string | undefined {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

export function secretWith(name: string, namespace: string, data: Record<string, string>): V1Secret {
  const encoded: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) encoded[k] = Buffer.from(v).toString('base64');
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, data: encoded };
}
