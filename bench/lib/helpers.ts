import * as k8s from '@kubernetes/client-node';

/**
 * What kubelet, a volume provisioner and Patroni would do for kwok's fake pods, through the
 * control plane's own apiserver (never the operator-facing one, so none of it counts as operator
 * traffic). Both sides of the comparison get exactly the same helpers.
 */
export interface Helpers {
  readonly pvsCreated: () => number;
  readonly podsLabelled: () => number;
  /** Pods whose Ready condition had to be set back after the node lifecycle controller cleared it. */
  readonly podsReadied: () => number;
  stop(): Promise<void>;
}

export async function startHelpers(kc: k8s.KubeConfig, namespace: string): Promise<Helpers> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const queue = new WorkQueue(8);
  let pvs = 0;
  let labelled = 0;
  let readied = 0;
  const heartbeat = await startNodeLeases(kc);

  // Volume provisioner: a pre-bound hostPath PV for every unbound claim (kwok pods need bound PVCs to schedule).
  const claims = k8s.makeInformer<k8s.V1PersistentVolumeClaim>(kc, `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, () =>
    core.listNamespacedPersistentVolumeClaim({ namespace }),
  );
  const provision = (claim: k8s.V1PersistentVolumeClaim): void => {
    if ((claim.spec?.volumeName ?? '') !== '') return;
    const name = `pv-${namespace}-${claim.metadata?.name ?? ''}`.slice(0, 253);
    queue.add(`pv/${name}`, async () => {
      await core.createPersistentVolume({ body: persistentVolume(name, namespace, claim) }).then(
        () => {
          pvs++;
        },
        (err: unknown) => {
          if ((err as { code?: number }).code !== 409) throw err;
        },
      );
    });
  };
  claims.on('add', provision);
  claims.on('update', provision);

  // Patroni's part: once a pod is Ready, pod 0 becomes master and the others replicas.
  const pods = k8s.makeInformer<k8s.V1Pod>(
    kc,
    `/api/v1/namespaces/${namespace}/pods`,
    () => core.listNamespacedPod({ namespace, labelSelector: 'application=spilo' }),
    'application=spilo',
  );
  const label = (pod: k8s.V1Pod): void => {
    const name = pod.metadata?.name ?? '';
    const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    if (!ready && restoreReady(pod)) {
      queue.add(`ready/${name}`, async () => {
        await core.patchNamespacedPodStatus(
          { namespace, name, body: { status: { conditions: [{ type: 'Ready', status: 'True' }] } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
        );
        readied++;
      });
      return;
    }
    const role = /-0$/.test(name) ? 'master' : 'replica';
    if (!ready || pod.metadata?.deletionTimestamp !== undefined || pod.metadata?.labels?.['spilo-role'] === role) return;
    queue.add(`pod/${name}`, async () => {
      await core.patchNamespacedPod(
        { namespace, name, body: { metadata: { labels: { 'spilo-role': role } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      labelled++;
    });
  };
  pods.on('add', label);
  pods.on('update', label);

  let stopped = false;
  for (const informer of [claims, pods] as k8s.Informer<k8s.KubernetesObject>[]) {
    // client-node's informer stops on a watch error; start it again (it re-lists), until stop():
    // stopping aborts the watch, which reports an error too, and a restart then would never end.
    informer.on('error', () =>
      setTimeout(() => {
        if (!stopped) void informer.start().catch(() => undefined);
      }, 500),
    );
    await informer.start();
  }
  return {
    pvsCreated: () => pvs,
    podsLabelled: () => labelled,
    podsReadied: () => readied,
    stop: async () => {
      stopped = true;
      clearInterval(heartbeat);
      await claims.stop();
      await pods.stop();
      await queue.drain();
    },
  };
}

/**
 * kubelet's heartbeat for kwok's fake nodes: a Lease in kube-node-lease renewed every 2 s. kwok v0.7
 * posts node status less often than the control plane's 20 s grace period on a busy machine; the
 * node then flaps NotReady and the node lifecycle controller clears every pod's Ready condition,
 * which kwok never sets again.
 */
async function startNodeLeases(kc: k8s.KubeConfig): Promise<NodeJS.Timeout> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const leases = kc.makeApiClient(k8s.CoordinationV1Api);
  let leaseErrors = '';
  const nodes = (await core.listNode()).items
    .filter((n) => n.metadata?.annotations?.['kwok.x-k8s.io/node'] === 'fake')
    .map((n) => n.metadata?.name ?? '');
  const renew = async (): Promise<void> => {
    // MicroTime: RFC 3339 with exactly six fractional digits.
    const renewTime = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    for (const name of nodes) {
      await leases
        .patchNamespacedLease(
          { name, namespace: 'kube-node-lease', body: { spec: { renewTime } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        )
        .catch(async (err: unknown) => {
          if ((err as { code?: number }).code !== 404) throw err;
          await leases.createNamespacedLease({
            namespace: 'kube-node-lease',
            body: {
              metadata: { name, namespace: 'kube-node-lease' },
              spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new k8s.V1MicroTime() },
            },
          });
        })
        .catch((err: unknown) => {
          leaseErrors = String((err as Error).message ?? err);
        });
    }
  };
  await renew();
  if (leaseErrors !== '') throw new Error(`renewing the fake nodes' Leases: ${leaseErrors}`);
  return setInterval(() => {
    void renew();
  }, 2000);
}

/** Running, containers ready, but Ready=False: what the node lifecycle controller leaves after a NotReady blip. */
function restoreReady(pod: k8s.V1Pod): boolean {
  const cond = (type: string): string | undefined => pod.status?.conditions?.find((c) => c.type === type)?.status;
  return (
    pod.status?.phase === 'Running' &&
    cond('ContainersReady') === 'True' &&
    cond('Ready') === 'False' &&
    pod.metadata?.deletionTimestamp === undefined
  );
}

function persistentVolume(name: string, namespace: string, claim: k8s.V1PersistentVolumeClaim): k8s.V1PersistentVolume {
  return {
    metadata: { name, labels: { 'pgfn.dev/bench-volume': 'true' } },
    spec: {
      capacity: { storage: claim.spec?.resources?.requests?.['storage'] ?? '1Gi' },
      accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
      storageClassName: claim.spec?.storageClassName ?? '',
      persistentVolumeReclaimPolicy: 'Retain',
      // Never used: kwok runs nothing behind its pods.
      hostPath: { path: `/tmp/pgfn-bench-volumes/${name}` },
      claimRef: { namespace, name: claim.metadata?.name, uid: claim.metadata?.uid },
    },
  };
}

/** Runs tasks with bounded concurrency; a key already queued or running is not queued twice. */
export class WorkQueue {
  private readonly pending = new Map<string, () => Promise<void>>();
  private readonly running = new Set<string>();
  private readonly idle: (() => void)[] = [];
  private readonly attempts = new Map<string, number>();
  failures = 0;

  constructor(private readonly concurrency: number) {}

  add(key: string, task: () => Promise<void>): void {
    if (this.pending.has(key) || this.running.has(key)) return;
    this.pending.set(key, task);
    this.pump();
  }

  async drain(): Promise<void> {
    if (this.pending.size === 0 && this.running.size === 0) return;
    await new Promise<void>((r) => this.idle.push(r));
  }

  private pump(): void {
    while (this.running.size < this.concurrency && this.pending.size > 0) {
      const [key, task] = this.pending.entries().next().value as [string, () => Promise<void>];
      this.pending.delete(key);
      this.running.add(key);
      void task()
        .catch(() => {
          // Transient failures (a conflict, a timeout) are retried; informer updates re-queue the rest.
          this.failures++;
          const n = (this.attempts.get(key) ?? 0) + 1;
          this.attempts.set(key, n);
          if (n < 5) setTimeout(() => this.add(key, task), 500);
        })
        .finally(() => {
          this.running.delete(key);
          this.pump();
          if (this.pending.size === 0 && this.running.size === 0) this.idle.splice(0).forEach((r) => r());
        });
    }
  }
}
