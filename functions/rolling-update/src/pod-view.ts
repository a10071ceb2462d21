// Pods and claims as the planners see them: plain facts read off the API objects.
import type { V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { ROLLING_UPDATE_REQUIRED_ANNOTATION } from '@pgfn/builder';
import type { ClaimView } from './volume-resize.js';
import type { PodView } from './rotation-plan.js';

const POSTGRES_CONTAINER = 'postgres';

function postgresImage(spec: { containers?: { name: string; image?: string }[] } | undefined): string | undefined {
  const containers = spec?.containers ?? [];
  return (containers.find((c) => c.name === POSTGRES_CONTAINER) ?? containers[0])?.image;
}

export function podView(pod: V1Pod, roleLabel: string): PodView {
  const role = pod.metadata?.labels?.[roleLabel];
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const since = ready?.lastTransitionTime ?? pod.metadata?.creationTimestamp;
  return {
    name: pod.metadata?.name ?? '',
    role: role === 'master' || role === 'replica' ? role : undefined,
    phase: pod.status?.phase,
    ready: ready?.status === 'True',
    deleting: pod.metadata?.deletionTimestamp !== undefined,
    flagged: pod.metadata?.annotations?.[ROLLING_UPDATE_REQUIRED_ANNOTATION] === 'true',
    image: postgresImage(pod.spec),
    readySinceMs: since === undefined ? 0 : new Date(since).getTime(),
  };
}

export function templateImage(sts: V1StatefulSet): string | undefined {
  return postgresImage(sts.spec?.template.spec);
}

export function claimView(pvc: V1PersistentVolumeClaim): ClaimView {
  return {
    name: pvc.metadata?.name ?? '',
    requested: pvc.spec?.resources?.requests?.['storage'],
    storageClass: pvc.spec?.storageClassName,
  };
}
