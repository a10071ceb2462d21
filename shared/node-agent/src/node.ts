// The agent's Node: registered like kubelet registers itself, kept Ready by status heartbeats and a
// Lease in kube-node-lease (the node lifecycle controller watches both). It is not annotated for kwok;
// a label tells schedulers and tests which node runs real processes.
import {
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Node,
  type V1NodeCondition,
  type V1Taint,
} from '@kubernetes/client-node';
import { arch, hostname, release } from 'node:os';
import { statusCode } from '@pgfn/kube';

/** Label every agent node carries; select it (nodeSelector / node_readiness_label) to run pods for real. */
export const NODE_AGENT_LABEL = 'pgfn.dev/node-agent';
export const AGENT_VERSION = 'v1.34.4-pgfn-node-agent';

/**
 * Agents started under a group (PGFN_AGENT_GROUP: a test worker's) label their Nodes with it, and what
 * that worker deploys selects it (agentNodeLabels), so two test files' pods never land on each other's
 * agents and the files can run side by side (ADR 0145). Unset (the local stack, benches): no group.
 */
export const AGENT_GROUP_LABEL = 'pgfn.dev/agent-group';
export const AGENT_GROUP_ENV = 'PGFN_AGENT_GROUP';

/** This process's group label, if it has a group. */
export function agentGroupLabel(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const group = env[AGENT_GROUP_ENV];
  return group === undefined || group === '' ? {} : { [AGENT_GROUP_LABEL]: group };
}

/** The labels that select this process's agents (for node_readiness_label or a nodeSelector). */
export function agentNodeLabels(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return { [NODE_AGENT_LABEL]: 'true', ...agentGroupLabel(env) };
}

export interface NodeIdentity {
  readonly name: string;
  readonly ip: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly V1Taint[];
  readonly maxPods: number;
  /** What the Node advertises to the scheduler (default DEFAULT_NODE_CAPACITY). */
  readonly capacity?: NodeCapacity;
  /** Port of the kubelet API (exec) on `ip`; 0 when none. */
  readonly kubeletPort?: number;
}

/**
 * The resources a local node advertises. Pods are local processes the agent does not confine, so the
 * figures only gate scheduling: generous by default, so that upstream's requests (500m per pooler
 * pod, 100m per Spilo pod …) never leave a local stack Pending on a small machine.
 */
export interface NodeCapacity {
  /** A Kubernetes quantity, e.g. "64" or "64000m". */
  readonly cpu: string;
  /** A Kubernetes quantity, e.g. "256Gi". */
  readonly memory: string;
}

export const DEFAULT_NODE_CAPACITY: NodeCapacity = { cpu: '64', memory: '256Gi' };

export function nodeObject(id: NodeIdentity): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: id.name,
      labels: {
        'kubernetes.io/hostname': id.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': goArch(),
        [NODE_AGENT_LABEL]: 'true',
        type: 'pgfn-node-agent',
        ...id.labels,
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: id.taints.length > 0 ? { taints: [...id.taints] } : {},
  };
}

export function nodeStatus(id: NodeIdentity, now: Date, previous: V1NodeCondition[] | undefined): V1Node['status'] {
  const capacity = {
    cpu: (id.capacity ?? DEFAULT_NODE_CAPACITY).cpu,
    memory: (id.capacity ?? DEFAULT_NODE_CAPACITY).memory,
    pods: String(id.maxPods),
    'ephemeral-storage': '100Gi',
  };
  const condition = (type: string, status: string, reason: string, message: string): V1NodeCondition => {
    const before = previous?.find((c) => c.type === type);
    return {
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: before?.status === status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : now,
    };
  };
  return {
    capacity,
    allocatable: capacity,
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      condition('Ready', 'True', 'KubeletReady', 'pgfn node agent is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: id.ip },
      { type: 'Hostname', address: id.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: id.kubeletPort ?? 0 } },
    nodeInfo: {
      architecture: goArch(),
      bootID: '',
      containerRuntimeVersion: 'pgfn-sandbox://0.1.0',
      kernelVersion: release(),
      kubeProxyVersion: '',
      kubeletVersion: AGENT_VERSION,
      machineID: hostname(),
      operatingSystem: 'linux',
      osImage: 'Debian (pgfn node agent)',
      systemUUID: '',
    },
  };
}

function microTime(at: Date): string {
  return at.toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}000Z`);
}

function goArch(): string {
  return arch() === 'x64' ? 'amd64' : arch();
}

/** Creates (or takes over) the Node, then keeps its status and Lease fresh until stopped. */
export class NodeHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  /** The beat under way, which stop() waits for: one ending after stop() must not register the Node again. */
  private beating: Promise<void> | undefined;
  private stopped = false;
  private readonly core: CoreV1Api;
  private readonly leases: CoordinationV1Api;

  constructor(
    kc: KubeConfig,
    private id: NodeIdentity,
    private readonly log: (m: string) => void,
    private readonly intervalMs = 5_000,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.leases = kc.makeApiClient(CoordinationV1Api);
  }

  /** The kubelet API's port, published in the Node status from the next heartbeat on. */
  setKubeletPort(port: number): void {
    this.id = { ...this.id, kubeletPort: port };
  }

  async register(): Promise<void> {
    try {
      await this.core.createNode({ body: nodeObject(this.id) });
    } catch (err) {
      if (statusCode(err) !== 409) throw new Error(`registering node ${this.id.name}`, { cause: err });
      // Re-registration after a restart: take the labels and taints we are configured with.
      const desired = nodeObject(this.id);
      await this.core.patchNode(
        {
          name: this.id.name,
          body: { metadata: { labels: desired.metadata?.labels }, spec: { taints: desired.spec?.taints ?? null, unschedulable: null } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
    await this.beat();
    this.timer = setInterval(() => {
      if (this.beating !== undefined) return; // a slow API server: one beat at a time
      this.beating = this.beat()
        .catch((err: unknown) => this.log(`node heartbeat failed: ${(err as Error).message}`))
        .finally(() => (this.beating = undefined));
    }, this.intervalMs);
  }

  private async beat(): Promise<void> {
    const now = new Date();
    const current = await this.core.readNode({ name: this.id.name }).catch(async (err: unknown) => {
      if (statusCode(err) !== 404 || this.stopped) throw err;
      // Deleted under a running kubelet: it registers the node again (its pods were deleted with it).
      this.log(`node ${this.id.name} was deleted; registering it again`);
      return this.core.createNode({ body: nodeObject(this.id) });
    });
    await this.core.patchNodeStatus(
      { name: this.id.name, body: { status: nodeStatus(this.id, now, current.status?.conditions) } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    await this.renewLease(now);
  }

  private async renewLease(now: Date): Promise<void> {
    const namespace = 'kube-node-lease';
    // MicroTime wants six fractional digits; the client would send Date's three.
    const spec = { holderIdentity: this.id.name, leaseDurationSeconds: 40, renewTime: microTime(now) as unknown as Date };
    try {
      const lease = await this.leases.readNamespacedLease({ name: this.id.name, namespace });
      lease.spec = { ...lease.spec, ...spec };
      await this.leases.replaceNamespacedLease({ name: this.id.name, namespace, body: lease });
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
      await this.leases.createNamespacedLease({
        namespace,
        body: {
          metadata: { name: this.id.name, namespace, ownerReferences: await this.ownerRef() },
          spec,
        },
      });
    }
  }

  private async ownerRef(): Promise<{ apiVersion: string; kind: string; name: string; uid: string }[]> {
    const node = await this.core.readNode({ name: this.id.name });
    return [{ apiVersion: 'v1', kind: 'Node', name: this.id.name, uid: node.metadata?.uid ?? '' }];
  }

  /** Stops heartbeats; with `remove`, deletes the Node (its pods are then garbage-collected). */
  async stop(remove: boolean): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.beating;
    if (!remove) return;
    await this.core.deleteNode({ name: this.id.name }).catch((err: unknown) => {
      if (statusCode(err) !== 404) this.log(`deleting node ${this.id.name}: ${(err as Error).message}`);
    });
  }
}
