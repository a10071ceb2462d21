// Where the master is, from objects the caller has already read: Patroni's leader Endpoints `<c>`
// (Patroni writes the leader's address there in Endpoints mode), else the one Running pod labelled
// <pod_role_label>=master (Patroni on the Kubernetes DCS labels the pods it runs in).
import type { V1Endpoints, V1Pod } from '@kubernetes/client-node';
import { DEFAULT_POD_ROLE_LABEL } from '@pgfn/builder';

export interface MasterAddress {
  readonly host: string;
  readonly port: number;
  readonly podName?: string;
  readonly source: 'endpoints' | 'pod';
}

export interface MasterInput {
  /** Endpoints named like the cluster, when they exist. */
  readonly endpoints?: V1Endpoints;
  /** The cluster's pods (label cluster-name=<c>). */
  readonly pods?: readonly V1Pod[];
  /** Label holding the role (the configured pod_role_label); empty or absent means the default. */
  readonly roleLabel?: string;
  /** Port when nothing names one; default 5432. */
  readonly defaultPort?: number;
}

export type MasterResult =
  { readonly master: MasterAddress; readonly reason?: undefined } | { readonly master?: undefined; readonly reason: string };

const POSTGRES_PORT_NAME = 'postgresql';

export function pickMaster(input: MasterInput): MasterResult {
  const port = input.defaultPort ?? 5432;
  const fromEndpoints = leaderFromEndpoints(input.endpoints, port);
  const pods = (input.pods ?? []).filter((p) => p.metadata?.deletionTimestamp === undefined);
  if (fromEndpoints !== undefined) {
    // Trust the Endpoints unless the pods say that pod is gone.
    const pod = fromEndpoints.podName === undefined ? undefined : pods.find((p) => p.metadata?.name === fromEndpoints.podName);
    if (fromEndpoints.podName === undefined || input.pods === undefined || pod !== undefined) return { master: fromEndpoints };
  }
  const label = input.roleLabel || DEFAULT_POD_ROLE_LABEL;
  const masters = pods.filter((p) => p.metadata?.labels?.[label] === 'master' && p.status?.phase === 'Running' && p.status.podIP);
  if (masters.length === 1) {
    const pod = masters[0] as V1Pod;
    return {
      master: { host: pod.status?.podIP as string, port: containerPort(pod) ?? port, podName: pod.metadata?.name, source: 'pod' },
    };
  }
  if (masters.length > 1) {
    const leader = input.endpoints?.metadata?.annotations?.['leader'];
    const chosen = masters.find((p) => p.metadata?.name === leader);
    if (chosen !== undefined)
      return {
        master: {
          host: chosen.status?.podIP as string,
          port: containerPort(chosen) ?? port,
          podName: chosen.metadata?.name,
          source: 'pod',
        },
      };
    const names = masters.map((p) => p.metadata?.name).join(', ');
    return { reason: `${masters.length} pods are labelled ${label}=master (${names}); waiting for Patroni to settle` };
  }
  return { reason: `no leader in the Endpoints and no Running pod labelled ${label}=master` };
}

function leaderFromEndpoints(endpoints: V1Endpoints | undefined, defaultPort: number): MasterAddress | undefined {
  for (const subset of endpoints?.subsets ?? []) {
    const address = subset.addresses?.[0];
    if (address?.ip === undefined || address.ip === '') continue;
    const port = subset.ports?.find((p) => p.name === POSTGRES_PORT_NAME)?.port ?? subset.ports?.[0]?.port ?? defaultPort;
    const podName = address.targetRef?.kind === 'Pod' ? address.targetRef.name : endpoints?.metadata?.annotations?.['leader'];
    return { host: address.ip, port, source: 'endpoints', ...(podName !== undefined ? { podName } : {}) };
  }
  return undefined;
}

function containerPort(pod: V1Pod): number | undefined {
  for (const container of pod.spec?.containers ?? []) {
    const port = container.ports?.find((p) => p.name === POSTGRES_PORT_NAME)?.containerPort;
    if (port !== undefined) return port;
  }
  return undefined;
}
