// The pgfn node agent: plays kubelet for one Node so that Spilo and PgBouncer pods are real Patroni,
// PostgreSQL and PgBouncer processes on this machine. Development and test infrastructure only.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
  type V1PodStatus,
  type V1Taint,
} from '@kubernetes/client-node';
import { assertExclusive } from '@pgfn/controlplane';
import { statusCode } from '@pgfn/kube';
import { KUBELET_BACKOFF, type BackoffSettings } from './container.js';
import { ContainerConfigError, type EnvSources } from './env.js';
import { startInformer, type Informer } from './informer.js';
import { IpPool } from './ip-pool.js';
import { KubeletExecServer } from './kubelet-exec.js';
import { LogicalBackupRuntime } from './logical-backup/runtime.js';
import { agentGroupLabel, NodeHeartbeat, type NodeCapacity } from './node.js';
import { PgBouncerRuntime } from './pgbouncer/runtime.js';
import { PodWorker } from './pod-worker.js';
import { LocalProvisioner } from './provisioner.js';
import { createServiceResolver, type ServiceResolver } from './resolver.js';
import { DEFAULT_IMAGE_PATTERNS, type ImagePatterns, type OsUser, type PodEvent } from './runtime.js';
import { SpiloRuntime } from './spilo/runtime.js';
import type { VolumeSources } from './volumes.js';

export interface NodeAgentOptions {
  /** Path of a kubeconfig (or a loaded one) with rights to nodes, pods, PVs, PVCs, token requests. */
  readonly kubeconfig: string | KubeConfig;
  /** Default `pgfn-agent-0`. */
  readonly nodeName?: string;
  /** Loopback range (inside 127.0.0.0/8) for the node (first address) and its pods. Default 127.0.10.0/24. */
  readonly ipRange?: string;
  /** Where PersistentVolume directories live: <dataDir>/<namespace>/<claim>. */
  readonly dataDir: string;
  /** Per-pod logs: <logDir>/<namespace>_<pod>/<container>.log and events.log; agent.log. */
  readonly logDir: string;
  /** Per-pod runtime files; default <dataDir>/.pgfn-agent. */
  readonly stateDir?: string;
  readonly imagePatterns?: ImagePatterns;
  /** Extra node labels (the agent always sets pgfn.dev/node-agent=true, and its group's label when it has one). */
  readonly labels?: Readonly<Record<string, string>>;
  readonly taints?: readonly V1Taint[];
  /** CPU and memory the Node advertises (default DEFAULT_NODE_CAPACITY: generous, pods are not confined). */
  readonly capacity?: NodeCapacity;
  /** Pods the Node accepts (default 110, the kubelet's). */
  readonly maxPods?: number;
  /** StorageClass the agent creates and serves (WaitForFirstConsumer). Default `pgfn-local`. */
  readonly storageClassName?: string;
  /** Make that StorageClass the cluster's default, so claims without a class can grow too (`npm run local`). */
  readonly defaultStorageClass?: boolean;
  /** Provision claims without a storage class (default true; with several agents only one may). */
  readonly serveClaimsWithoutClass?: boolean;
  /** Caps probe periods and initial delays, in seconds (tests). */
  readonly probePeriodCapSeconds?: number;
  readonly backoff?: BackoffSettings;
  /** Delete the Node on stop so nothing is scheduled to a dead node (default true). */
  readonly deleteNodeOnStop?: boolean;
  /** Grace period cap when the agent stops its pods (default 15 s). */
  readonly stopGraceMs?: number;
  /** OS user for Postgres, Patroni and PgBouncer (default `postgres`). */
  readonly osUser?: string;
  readonly log?: (line: string) => void;
}

export interface CrashOptions {
  /** Hold the restart back this long (a node that stays down); default 0 = restart per back-off. */
  readonly holdMs?: number;
}

export interface NodeAgent {
  readonly nodeName: string;
  readonly nodeIP: string;
  readonly resolver: ServiceResolver;
  /** SIGKILL every sandbox of the pod, as a container runtime crash would. */
  crash(namespace: string, name: string, options?: CrashOptions): number;
  /** Ends a crash's hold early (the node is back): the pod's held containers restart now; how many were held. */
  release(namespace: string, name: string): number;
  /**
   * Host pid of the pod's first container's program (Patroni in a Spilo pod: the first process of its
   * PID namespace), undefined when it does not run. For fault injection: stop Patroni, kill Postgres.
   */
  programPid(namespace: string, name: string): number | undefined;
  /** Process group ids of running sandboxes (for tests that check nothing is left). */
  processGroups(): number[];
  stop(): Promise<void>;
}

export async function startNodeAgent(options: NodeAgentOptions): Promise<NodeAgent> {
  assertExclusive('a node agent', ['nodes']);
  const agent = new Agent(options);
  try {
    await agent.start();
  } catch (err) {
    await agent.stop();
    throw err;
  }
  return agent;
}

class Agent implements NodeAgent {
  readonly nodeName: string;
  readonly nodeIP: string;
  readonly resolver: ServiceResolver;
  private readonly kc: KubeConfig;
  private readonly core: CoreV1Api;
  private readonly pool: IpPool;
  private readonly heartbeat: NodeHeartbeat;
  private readonly provisioner: LocalProvisioner;
  private readonly workers = new Map<string, PodWorker>();
  private readonly groups = new Set<number>();
  private readonly stateDir: string;
  private readonly user: OsUser;
  private readonly kubelet: KubeletExecServer;
  private pods: Informer<V1Pod> | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private ticking = false;
  private stopped = false;
  private readonly serviceEnv: Record<string, string>;

  constructor(private readonly o: NodeAgentOptions) {
    this.kc = typeof o.kubeconfig === 'string' ? loadConfig(o.kubeconfig) : o.kubeconfig;
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.nodeName = o.nodeName ?? 'pgfn-agent-0';
    this.pool = new IpPool(o.ipRange ?? '127.0.10.0/24');
    this.stateDir = resolve(o.stateDir ?? join(o.dataDir, '.pgfn-agent'));
    mkdirSync(this.stateDir, { recursive: true, mode: 0o755 });
    this.nodeIP = this.pool.nodeIP;
    this.user = osUser(o.osUser ?? 'postgres');
    this.resolver = createServiceResolver(this.kc);
    this.kubelet = new KubeletExecServer(join(this.stateDir, 'exec-targets'));
    for (const dir of [o.dataDir, o.logDir, this.stateDir]) mkdirSync(dir, { recursive: true, mode: 0o755 });
    this.heartbeat = new NodeHeartbeat(
      this.kc,
      {
        name: this.nodeName,
        ip: this.nodeIP,
        labels: { ...agentGroupLabel(), ...(o.labels ?? {}) },
        taints: o.taints ?? [],
        maxPods: o.maxPods ?? 110,
        ...(o.capacity === undefined ? {} : { capacity: o.capacity }),
      },
      (m) => this.log(m),
    );
    this.provisioner = new LocalProvisioner(this.kc, {
      nodeName: this.nodeName,
      dataDir: resolve(o.dataDir),
      storageClassName: o.storageClassName ?? 'pgfn-local',
      defaultClass: o.defaultStorageClass === true,
      serveClaimsWithoutClass: o.serveClaimsWithoutClass ?? true,
      log: (m) => this.log(m),
    });
    const server = new URL(this.kc.getCurrentCluster()?.server ?? 'https://127.0.0.1:6443');
    const port = server.port || '443';
    // Kubelet's service links for the `kubernetes` Service, pointing at the real API server address.
    this.serviceEnv = {
      KUBERNETES_SERVICE_HOST: server.hostname,
      KUBERNETES_SERVICE_PORT: port,
      KUBERNETES_SERVICE_PORT_HTTPS: port,
      KUBERNETES_PORT: `tcp://${server.hostname}:${port}`,
      [`KUBERNETES_PORT_${port}_TCP`]: `tcp://${server.hostname}:${port}`,
      [`KUBERNETES_PORT_${port}_TCP_PROTO`]: 'tcp',
      [`KUBERNETES_PORT_${port}_TCP_PORT`]: port,
      [`KUBERNETES_PORT_${port}_TCP_ADDR`]: server.hostname,
    };
  }

  async start(): Promise<void> {
    checkPrerequisites();
    killLeftovers(this.stateDir, (m) => this.log(m));
    this.startWatchdog();
    await this.provisioner.start();
    this.heartbeat.setKubeletPort(await this.kubelet.start(this.nodeIP, (m) => this.log(m)));
    this.writeGuardList();
    await this.heartbeat.register();
    this.pods = startInformer<V1Pod>(
      this.kc,
      '/api/v1/pods',
      () => this.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${this.nodeName}` }),
      {
        onChange: (pod) => this.podChanged(pod),
        onDelete: (pod) => this.podDeleted(pod),
        onError: (err) => this.log(`pod watch: ${(err as Error).message}`),
        fieldSelector: `spec.nodeName=${this.nodeName}`,
      },
    );
    await this.pods.synced;
    this.ticker = setInterval(() => void this.tick(), 1000);
    this.log(`node ${this.nodeName} (${this.nodeIP}) is running; data in ${this.o.dataDir}, logs in ${this.o.logDir}`);
  }

  private podChanged(pod: V1Pod): void {
    if (this.stopped || pod.spec?.nodeName !== this.nodeName) return;
    const uid = pod.metadata?.uid ?? '';
    let worker = this.workers.get(uid);
    const phase = pod.status?.phase;
    if (worker === undefined) {
      if (
        pod.metadata?.deletionTimestamp !== undefined &&
        (phase === 'Succeeded' || phase === 'Failed' || phase === undefined || phase === 'Pending')
      ) {
        void this.forceDelete(pod);
        return;
      }
      if (phase === 'Succeeded' || phase === 'Failed') return;
      worker = this.newWorker(pod);
      this.workers.set(uid, worker);
    }
    worker.update(pod);
    if (pod.metadata?.deletionTimestamp !== undefined && !worker.isTerminating) void this.terminate(worker, pod);
  }

  private newWorker(pod: V1Pod): PodWorker {
    const ns = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    const uid = pod.metadata?.uid ?? '';
    return new PodWorker(pod, {
      nodeName: this.nodeName,
      hostIP: this.nodeIP,
      podDir: join(this.stateDir, 'pods', `${ns}_${name}_${uid.slice(0, 8)}`),
      logDir: join(this.o.logDir, `${ns}_${name}`),
      runtimes: {
        spilo: new SpiloRuntime(this.user),
        pgbouncer: new PgBouncerRuntime(this.user),
        'logical-backup': new LogicalBackupRuntime(this.user),
      },
      patterns: this.o.imagePatterns ?? DEFAULT_IMAGE_PATTERNS,
      envSources: (namespace) => this.envSources(namespace),
      volumeSources: (p) => this.volumeSources(p),
      serviceEnv: this.serviceEnv,
      resolver: this.resolver,
      owner: this.user,
      backoff: this.o.backoff ?? KUBELET_BACKOFF,
      probePeriodCapSeconds: this.o.probePeriodCapSeconds,
      nodeCpu: cpus().length,
      nodeMemoryBytes: totalmem(),
      // Every 127.x address already answers on `lo`: nothing to configure on an interface.
      allocateIP: (preferred) =>
        this.pool.allocate(
          uid,
          preferred !== undefined && this.pool.contains(preferred) && preferred !== this.nodeIP ? preferred : undefined,
        ),
      patchStatus: (p, status) => this.patchStatus(p, status),
      recordEvent: (p, e) => this.recordEvent(p, e),
      annotatePod: (p, annotations) => this.annotatePod(p, annotations),
      onProcess: (pgid, running) => this.trackGroup(pgid, running),
      onExecTarget: (podKey, container, target) => this.kubelet.setTarget(podKey, container, target),
      log: (m) => this.log(m),
    });
  }

  private podDeleted(pod: V1Pod): void {
    const worker = this.workers.get(pod.metadata?.uid ?? '');
    if (worker === undefined) return;
    // Deleted without us (force delete, node removal): stop at once.
    void worker.terminate(0).then(() => this.forget(worker));
  }

  private async terminate(worker: PodWorker, pod: V1Pod): Promise<void> {
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    await worker.terminate(grace * 1000);
    await this.forceDelete(pod);
    this.forget(worker);
  }

  /** What kubelet does once containers are gone: delete the pod object for good (uid precondition). */
  private async forceDelete(pod: V1Pod): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace ?? 'default',
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } },
      });
    } catch (err) {
      const code = statusCode(err);
      if (code !== 404 && code !== 409)
        this.log(`deleting pod ${pod.metadata?.namespace}/${pod.metadata?.name}: ${(err as Error).message}`);
    }
  }

  private forget(worker: PodWorker): void {
    if (this.workers.get(worker.uid) !== worker) return;
    this.workers.delete(worker.uid);
    this.pool.release(worker.uid);
    worker.cleanup();
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      await Promise.all(
        [...this.workers.values()].map((w) => w.tick().catch((err: unknown) => w.log(`sync failed: ${(err as Error).message}`))),
      );
    } finally {
      this.ticking = false;
    }
  }

  private async patchStatus(pod: V1Pod, status: V1PodStatus): Promise<void> {
    try {
      await this.core.patchNamespacedPodStatus(
        { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? 'default', body: { status } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
    } catch (err) {
      if (statusCode(err) === 404) return;
      throw err;
    }
  }

  /** A merge patch of the pod's annotations (null removes one); a pod already gone is fine. */
  private async annotatePod(pod: V1Pod, annotations: Readonly<Record<string, string | null>>): Promise<void> {
    try {
      await this.core.patchNamespacedPod(
        { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? 'default', body: { metadata: { annotations } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      if (statusCode(err) === 404) return;
      throw err;
    }
  }

  /** A core/v1 Event on the pod from this node's kubelet (the agent), like kubelet's own. */
  private async recordEvent(pod: V1Pod, e: PodEvent): Promise<void> {
    const now = new Date();
    const namespace = pod.metadata?.namespace ?? 'default';
    await this.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${pod.metadata?.name ?? 'pod'}.`, namespace },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, namespace, uid: pod.metadata?.uid },
        type: e.type,
        reason: e.reason,
        message: e.message,
        source: { component: 'kubelet', host: this.nodeName },
        reportingComponent: 'kubelet',
        reportingInstance: this.nodeName,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }

  private envSources(namespace: string): EnvSources {
    return {
      secret: async (name) => {
        const data = await this.readSecret(namespace, name);
        return data === undefined ? undefined : Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('utf8')]));
      },
      configMap: async (name) => {
        const data = await this.readConfigMap(namespace, name);
        return data === undefined ? undefined : Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('utf8')]));
      },
    };
  }

  private volumeSources(pod: V1Pod): VolumeSources {
    const namespace = pod.metadata?.namespace ?? 'default';
    return {
      secret: (name) => this.readSecret(namespace, name),
      configMap: (name) => this.readConfigMap(namespace, name),
      token: async (serviceAccount, audience, expirationSeconds) => {
        const response = await this.core
          .createNamespacedServiceAccountToken({
            name: serviceAccount,
            namespace,
            body: {
              spec: {
                audiences: audience === undefined || audience === '' ? [] : [audience],
                expirationSeconds,
                boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name, uid: pod.metadata?.uid },
              },
            },
          })
          .catch((err: unknown) => {
            throw new ContainerConfigError(
              `requesting a token for ServiceAccount ${namespace}/${serviceAccount}: ${(err as Error).message}`,
            );
          });
        const expires = response.status?.expirationTimestamp;
        return {
          token: response.status?.token ?? '',
          expiresAt: expires === undefined ? Date.now() + expirationSeconds * 1000 : new Date(expires).getTime(),
        };
      },
      claimPath: (claim) => {
        const path = this.provisioner.claimPath(namespace, claim);
        if (path === undefined)
          return Promise.reject(new ContainerConfigError(`persistentvolumeclaim "${claim}" is not bound to a volume of this node yet`));
        return Promise.resolve(path);
      },
    };
  }

  private async readSecret(namespace: string, name: string): Promise<Record<string, Buffer> | undefined> {
    try {
      const secret = await this.core.readNamespacedSecret({ name, namespace });
      return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  private async readConfigMap(namespace: string, name: string): Promise<Record<string, Buffer> | undefined> {
    try {
      const cm = await this.core.readNamespacedConfigMap({ name, namespace });
      return {
        ...Object.fromEntries(Object.entries(cm.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8')])),
        ...Object.fromEntries(Object.entries(cm.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      };
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  crash(namespace: string, name: string, options: CrashOptions = {}): number {
    const worker = [...this.workers.values()].find((w) => w.key === `${namespace}/${name}` && !w.isTerminating);
    if (worker === undefined) throw new Error(`pod ${namespace}/${name} does not run on node ${this.nodeName}`);
    return worker.crash(options.holdMs ?? 0);
  }

  release(namespace: string, name: string): number {
    const worker = [...this.workers.values()].find((w) => w.key === `${namespace}/${name}` && !w.isTerminating);
    if (worker === undefined) throw new Error(`pod ${namespace}/${name} does not run on node ${this.nodeName}`);
    return worker.release();
  }

  programPid(namespace: string, name: string): number | undefined {
    return [...this.workers.values()].find((w) => w.key === `${namespace}/${name}` && !w.isTerminating)?.programPid;
  }

  processGroups(): number[] {
    return [...this.groups];
  }

  private trackGroup(pgid: number, running: boolean): void {
    if (running) this.groups.add(pgid);
    else this.groups.delete(pgid);
    this.writeGuardList();
  }

  /** What the watchdog kills if the agent dies: every sandbox, and the kubelet exec endpoint. */
  private writeGuardList(): void {
    const kubelet = this.kubelet.pid === undefined || this.stopped ? [] : [this.kubelet.pid];
    writeFileSync(join(this.stateDir, 'pgids'), [...this.groups, ...kubelet].join('\n') + '\n');
  }

  /** A detached guard that kills our sandboxes if this process dies without stop(). */
  private startWatchdog(): void {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'watchdog.sh');
    const child = spawn('/bin/bash', [script, String(process.pid), join(this.stateDir, 'pgids')], { detached: true, stdio: 'ignore' });
    child.unref();
    this.watchdogPid = child.pid;
  }

  private watchdogPid: number | undefined;

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.ticker);
    await this.pods?.stop();
    const grace = this.o.stopGraceMs ?? 15_000;
    await Promise.all([...this.workers.values()].map((w) => w.terminate(grace).catch(() => undefined)));
    for (const pgid of this.groups) signalGroup(pgid, 'SIGKILL');
    for (const w of this.workers.values()) w.cleanup();
    this.workers.clear();
    await this.provisioner.stop();
    await this.heartbeat.stop(this.o.deleteNodeOnStop ?? true);
    this.kubelet.stop();
    writeFileSync(join(this.stateDir, 'pgids'), '');
    if (this.watchdogPid !== undefined) signalGroup(this.watchdogPid, 'SIGKILL');
    this.log('stopped');
  }

  private log(message: string): void {
    const line = `${new Date().toISOString()} ${message}`;
    try {
      appendFileSync(join(this.o.logDir, 'agent.log'), `${line}\n`);
    } catch {
      // The log directory removed under a stopping agent: a lost line, never a crashed process.
    }
    this.o.log?.(line);
  }
}

function loadConfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

function osUser(name: string): OsUser {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { name, uid, gid };
  } catch {
    throw new Error(`the OS user "${name}" does not exist; install postgresql-15 (it creates "postgres") or pass osUser`);
  }
}

function checkPrerequisites(): void {
  if (userInfo().uid !== 0)
    throw new Error('the pgfn node agent must run as root: it creates namespaces, mounts and switches to the postgres user');
  const missing = ['/usr/bin/unshare', '/usr/bin/setpriv', '/usr/bin/patroni', '/usr/sbin/pgbouncer', '/usr/bin/openssl'].filter(
    (f) => !existsSync(f),
  );
  if (missing.length > 0)
    throw new Error(`missing on this machine: ${missing.join(', ')} (apt-get install util-linux patroni pgbouncer openssl)`);
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/** Sandboxes of an agent that died without stopping them. */
function killLeftovers(stateDir: string, log: (m: string) => void): void {
  const file = join(stateDir, 'pgids');
  if (!existsSync(file)) return;
  const groups = readFileSync(file, 'utf8')
    .split('\n')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const ours = groups.filter(isSandbox);
  for (const pgid of ours) signalGroup(pgid, 'SIGKILL');
  if (ours.length > 0) log(`killed ${ours.length} sandbox(es) left by a previous run`);
  writeFileSync(file, '');
}

/** Whether `pid` is still one of our sandboxes (pids are reused). */
function isSandbox(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/usr/bin/unshare\0');
  } catch {
    return false;
  }
}
