// The pod status kubelet would report (pkg/kubelet/status and kubelet_pods.go generateAPIPodStatus):
// phase from the containers, the standard conditions with stable transition times, addresses.
import type { V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from '@kubernetes/client-node';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface ContainerSummary {
  readonly hasStarted: boolean;
  readonly isDone: boolean;
  readonly exitCode: number | undefined;
}

/** Pending until every container has started; Succeeded/Failed once none will run again. */
export function podPhase(containers: readonly ContainerSummary[]): PodPhase {
  if (containers.length > 0 && containers.every((c) => c.isDone)) {
    return containers.every((c) => c.exitCode === 0) ? 'Succeeded' : 'Failed';
  }
  return containers.every((c) => c.hasStarted) ? 'Running' : 'Pending';
}

export interface PodStatusInputs {
  readonly pod: V1Pod;
  readonly phase: PodPhase;
  readonly podIP: string | undefined;
  readonly hostIP: string;
  readonly startTime: Date;
  /** Volumes mounted and sandbox possible (PodReadyToStartContainers). */
  readonly sandboxReady: boolean;
  readonly containers: readonly V1ContainerStatus[];
  readonly initContainers: readonly V1ContainerStatus[];
  readonly now: Date;
}

export function buildPodStatus(i: PodStatusInputs): V1PodStatus {
  const previous = i.pod.status?.conditions ?? [];
  const allReady = i.containers.length > 0 && i.containers.every((c) => c.ready);
  const condition = (type: string, ok: boolean, reason?: string): V1PodCondition => {
    const status = ok ? 'True' : 'False';
    const before = previous.find((c) => c.type === type);
    const c: V1PodCondition = {
      type,
      status,
      lastTransitionTime: before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : i.now,
    };
    if (!ok && reason !== undefined) c.reason = reason;
    return c;
  };
  const notReady = i.containers.filter((c) => !c.ready).map((c) => c.name);
  const terminal = i.phase === 'Succeeded' || i.phase === 'Failed';
  const conditions: V1PodCondition[] = [
    condition('PodReadyToStartContainers', i.sandboxReady && !terminal),
    condition('Initialized', true),
    condition('Ready', allReady && !terminal, terminal ? 'PodCompleted' : 'ContainersNotReady'),
    condition('ContainersReady', allReady && !terminal, terminal ? 'PodCompleted' : 'ContainersNotReady'),
  ];
  for (const c of conditions) {
    if ((c.type === 'Ready' || c.type === 'ContainersReady') && c.status === 'False' && !terminal) {
      c.message = `containers with unready status: [${notReady.join(' ')}]`;
    }
  }
  const scheduled = previous.find((c) => c.type === 'PodScheduled');
  if (scheduled !== undefined) conditions.push(scheduled);
  const status: V1PodStatus = {
    phase: i.phase,
    conditions,
    hostIP: i.hostIP,
    hostIPs: [{ ip: i.hostIP }],
    startTime: i.startTime,
    containerStatuses: [...i.containers],
  };
  if (i.podIP !== undefined) {
    status.podIP = i.podIP;
    status.podIPs = [{ ip: i.podIP }];
  }
  if (i.initContainers.length > 0) status.initContainerStatuses = [...i.initContainers];
  if (i.pod.status?.qosClass !== undefined) status.qosClass = i.pod.status.qosClass;
  return status;
}

/** The status without timestamps that only move (for "did anything change?" comparisons). */
export function statusFingerprint(status: V1PodStatus): string {
  return JSON.stringify(status, (key, value: unknown) => (key === 'lastProbeTime' || key === 'lastHeartbeatTime' ? undefined : value));
}
