// Knative Serving does not run here (ADR 0060): the function supervisor stands in for it, and this
// module writes what Serving would write on a Service — its address, `http://<name>.<namespace>.svc.cluster.local`,
// and its Ready condition — so Knative's Trigger and SinkBinding controllers resolve a `ref` to it as on a
// cluster. The local proxy routes that name to the process the supervisor runs (ADR 0085).
import { binaries, kubectlRun } from '@pgfn/controlplane';
import { applyObjects, type KubeObject } from './knative-objects.js';

/** The cluster-local address Serving gives a Service (its `status.address.url`). */
export function serviceAddress(name: string, namespace: string): string {
  return `http://${name}.${namespace}.svc.cluster.local`;
}

/** A Service's cluster name (`<name>.<namespace>.svc.cluster.local`) → its name and namespace, else undefined. */
export function serviceOfHost(host: string): { readonly name: string; readonly namespace: string } | undefined {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(host);
  return m?.[1] === undefined || m[2] === undefined ? undefined : { name: m[1], namespace: m[2] };
}

export interface ServingCondition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

export interface ServingStatus {
  readonly observedGeneration?: number;
  readonly url: string | null;
  readonly address: { readonly url: string } | null;
  readonly conditions: readonly ServingCondition[];
}

/** Why a Service cannot run here (no local equivalent of its image), or undefined when it can. */
export type NotRunnable = { readonly reason: string; readonly message: string } | undefined;

/**
 * The status Serving would report for a Service the supervisor can run (Ready, with its address) or
 * cannot (Ready False with the reason, no address: nothing would answer at it). The visibility label
 * does not matter locally: every Service is reached by its cluster-local name.
 */
export function servingStatus(opts: { name: string; namespace: string; generation?: number; notRunnable?: NotRunnable }): ServingStatus {
  const url = serviceAddress(opts.name, opts.namespace);
  const generation = opts.generation === undefined ? {} : { observedGeneration: opts.generation };
  if (opts.notRunnable !== undefined) {
    const failed = { status: 'False', reason: opts.notRunnable.reason, message: opts.notRunnable.message } as const;
    return {
      ...generation,
      url: null,
      address: null,
      conditions: [
        { type: 'ConfigurationsReady', ...failed },
        { type: 'Ready', ...failed },
        { type: 'RoutesReady', ...failed },
      ],
    };
  }
  return {
    ...generation,
    url,
    address: { url },
    conditions: ['ConfigurationsReady', 'Ready', 'RoutesReady'].map((type) => ({ type, status: 'True' as const })),
  };
}

/** Whether `live` already says what `desired` says (transition times aside): no write needed. */
export function sameServingStatus(live: Partial<ServingStatus> | undefined, desired: ServingStatus): boolean {
  const key = (c: ServingCondition): string => `${c.type}/${c.status}/${c.reason ?? ''}/${c.message ?? ''}`;
  return (
    live?.observedGeneration === desired.observedGeneration &&
    (live?.url ?? null) === desired.url &&
    (live?.address?.url ?? null) === (desired.address?.url ?? null) &&
    JSON.stringify((live?.conditions ?? []).map(key).sort()) === JSON.stringify(desired.conditions.map(key).sort())
  );
}

/**
 * knative/'s own Services, applied (after Knative's defaulting) and given the status Serving would
 * give them; the proxy routes their names to the supervisor's functions.
 */
export async function publishServices(kubeconfig: string, services: readonly KubeObject[]): Promise<void> {
  const kubectl = binaries().kubectl;
  await applyObjects(kubeconfig, services);
  for (const svc of services) {
    const namespace = svc.metadata.namespace ?? 'default';
    const status = servingStatus({ name: svc.metadata.name, namespace });
    await kubectlRun(kubectl, kubeconfig, [
      'patch',
      '-n',
      namespace,
      'services.serving.knative.dev',
      svc.metadata.name,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status }),
    ]);
  }
}
