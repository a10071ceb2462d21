import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { testEnv } from './env.js';

export function adminConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(testEnv().kubeconfig);
  return kc;
}

/** A KubeConfig that authenticates with a bearer token (static token file or TokenRequest). */
export function tokenConfig(token: string): k8s.KubeConfig {
  const admin = adminConfig();
  const cluster = admin.getCurrentCluster();
  if (cluster === null) throw new Error('admin kubeconfig has no cluster');
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'token', token }],
    contexts: [{ name: 'token', cluster: cluster.name, user: 'token' }],
    currentContext: 'token',
  });
  return kc;
}

/** A fresh namespace with a readable, unique name; `cleanup` deletes it (GC removes what is inside). */
export async function createNamespace(kc: k8s.KubeConfig, prefix: string): Promise<{ name: string; cleanup: () => Promise<void> }> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`.slice(0, 63);
  await core.createNamespace({ body: { metadata: { name, labels: { 'pgfn.dev/test': 'true' } } } });
  return {
    name,
    cleanup: async () => {
      await core.deleteNamespace({ name }).catch(() => undefined);
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : `: ${errorText(lastError)}`}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The HTTP status of a failed client-node call (1.x throws ApiException with `code`). */
export function statusOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? Number(err.code) : undefined;
}

/** An error's message, or anything else thrown as JSON. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : JSON.stringify(err);
}

/**
 * Why pods are not Running, for a timeout message: each pod's phase, node and unmet conditions, and each
 * claim's phase (a kwok pod waits on the scheduler, its claim, or kwok itself).
 */
export function describePods(pods: readonly k8s.V1Pod[], claims: readonly k8s.V1PersistentVolumeClaim[]): string {
  const pod = (p: k8s.V1Pod): string => {
    const unmet = (p.status?.conditions ?? [])
      .filter((c) => c.status !== 'True')
      .map((c) => `${c.type}=${c.status}${c.reason === undefined ? '' : ` ${c.reason}`}${c.message === undefined ? '' : `: ${c.message}`}`);
    const deleting = p.metadata?.deletionTimestamp === undefined ? '' : ' deleting';
    const why = unmet.length > 0 ? ` [${unmet.join('; ')}]` : '';
    return `${p.metadata?.name ?? '?'} ${p.status?.phase ?? '?'}${deleting} on ${p.spec?.nodeName ?? '(no node)'}${why}`;
  };
  const claim = (c: k8s.V1PersistentVolumeClaim): string =>
    `${c.metadata?.name ?? '?'} ${c.status?.phase ?? '?'}${c.spec?.volumeName ? ` → ${c.spec.volumeName}` : ''}`;
  return `pods: ${pods.map(pod).join(', ') || 'none'}; claims: ${claims.map(claim).join(', ') || 'none'}`;
}

/** describePods of the pods `labelSelector` selects in `namespace`, read now. */
export async function podsState(kc: k8s.KubeConfig, namespace: string, labelSelector: string): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const [pods, claims] = await Promise.all([
    core.listNamespacedPod({ namespace, labelSelector }),
    core.listNamespacedPersistentVolumeClaim({ namespace }),
  ]);
  return describePods(pods.items, claims.items);
}
