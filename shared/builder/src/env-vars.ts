// Small helpers for lists of container environment variables.
import type { V1EnvVar } from '@kubernetes/client-node';

/**
 * Appends each variable whose name is not in the list yet (compared case-insensitively, as upstream's
 * appendEnvVars does), so earlier sources win and the result never holds a name twice — which
 * server-side apply would reject, since env is a list keyed by name.
 */
export function appendEnvVars(envs: readonly V1EnvVar[], ...more: readonly V1EnvVar[]): V1EnvVar[] {
  const out = [...envs];
  const seen = new Set(out.map((e) => e.name.toLowerCase()));
  for (const env of more) {
    const key = env.name.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(env);
  }
  return out;
}

export function valueEnv(name: string, value: string): V1EnvVar {
  return { name, value };
}

export function fieldEnv(name: string, fieldPath: string): V1EnvVar {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

export function secretEnv(name: string, secretName: string, key: string): V1EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secretName, key } } };
}
