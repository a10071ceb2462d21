import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { httpsGet } from './https-get.js';
import { assertExclusive, PRIVATE_CONTROL_PLANE } from './exclusive.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { generatePki, type Pki } from './pki.js';
import { freePorts } from './ports.js';
import { ManagedProcess, signalGroup, tailFile } from './process.js';
import { binaries, type Binaries } from './versions.js';

const run = promisify(execFile);

/** Loopback range kwok hands out pod IPs from; disjoint from the service range below. */
export const KWOK_POD_CIDR = '127.0.2.0/24';
/** Service IPs are only allocated, never routed to: nothing on this machine proxies them. */
export const SERVICE_CIDR = '10.96.0.0/16';
export const KWOK_NODE_NAME = 'kwok-node-0';
/**
 * Selects kwok's node: a pod meant to run on nothing must say so, or the scheduler may prefer a node
 * agent's emptier Node, where the pod stays Pending (nothing there runs its image).
 */
export const KWOK_NODE_SELECTOR: Readonly<Record<string, string>> = { type: 'kwok' };
/** Users in the static token file. They belong to no privileged group: RBAC decides everything. */
export const TOKEN_USERS = Array.from({ length: 10 }, (_, i) => `pgfn-tester-${i}`);

export interface ControlPlaneOptions {
  /** Working folder for certs, data, logs and kubeconfigs; a new temp folder by default. */
  readonly dir?: string;
  /** Start kwok and register a fake node (default true). */
  readonly kwok?: boolean;
  /** Remove `dir` on stop (default: true when the folder was made here). */
  readonly removeOnStop?: boolean;
}

export interface ControlPlaneState {
  readonly dir: string;
  readonly logDir: string;
  readonly server: string;
  readonly kubeconfig: string;
  readonly tokens: Readonly<Record<string, string>>;
  readonly ports: Readonly<Record<string, number>>;
  readonly pids: readonly number[];
  readonly pki: Pki;
}

/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and kwok, the way envtest starts its two, plus the controllers and fake nodes
 * that make StatefulSets, garbage collection and pods real.
 */
export class ControlPlane {
  private readonly processes: ManagedProcess[] = [];
  private readonly launched = new Map<string, { readonly bin: string; readonly args: string[] }>();
  private watchdog: number | undefined;
  private stopped = false;

  private constructor(
    readonly state: ControlPlaneState,
    private readonly bins: Binaries,
    private readonly removeOnStop: boolean,
  ) {}

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    assertExclusive('a control plane', PRIVATE_CONTROL_PLANE);
    const bins = binaries();
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'pgfn-cp-'));
    const logDir = join(dir, 'logs');
    for (const d of ['pki', 'logs', 'etcd']) mkdirSync(join(dir, d), { recursive: true });
    const pki = await generatePki(join(dir, 'pki'));
    const [etcdClient, etcdPeer, apiserver, kcm, scheduler] = await freePorts(5);
    const ports = { etcdClient, etcdPeer, apiserver, kcm, scheduler } as Record<string, number>;
    const server = `https://127.0.0.1:${apiserver}`;
    const tokens = Object.fromEntries(TOKEN_USERS.map((u) => [u, randomBytes(24).toString('hex')]));
    writeFileSync(
      join(dir, 'tokens.csv'),
      Object.entries(tokens)
        .map(([user, token]) => `${token},${user},${user},"pgfn:testers"`)
        .join('\n') + '\n',
      { mode: 0o600 },
    );
    const kubeconfig = join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(server, pki.caCert, { cert: pki.adminCert, key: pki.adminKey }), { mode: 0o600 });
    const state: ControlPlaneState = { dir, logDir, server, kubeconfig, tokens, ports, pids: [], pki };
    const cp = new ControlPlane(state, bins, options.removeOnStop ?? options.dir === undefined);
    try {
      await cp.boot(options.kwok ?? true);
    } catch (err) {
      const tails = cp.logTails(40);
      await cp.stop();
      throw new Error(`control plane failed to start: ${(err as Error).message}\n${tails}`, { cause: err });
    }
    return cp;
  }

  get kubeconfig(): string {
    return this.state.kubeconfig;
  }

  private async boot(withKwok: boolean): Promise<void> {
    this.startWatchdog();
    const { dir, pki, ports } = this.state;
    const etcdUrl = `http://127.0.0.1:${ports['etcdClient']}`;
    this.launch('etcd', this.bins.etcd, [
      '--name=pgfn',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${ports['etcdPeer']}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${ports['etcdPeer']}`,
      `--initial-cluster=pgfn=http://127.0.0.1:${ports['etcdPeer']}`,
      // Test data is disposable: skipping fsync makes every write much faster on a shared disk.
      '--unsafe-no-fsync',
      '--quota-backend-bytes=4294967296',
      '--log-level=warn',
    ]);
    this.launch('kube-apiserver', this.bins.kubeApiserver, kubeApiserverFlags(this.state, ports['apiserver'], join(dir, 'pki')));
    await this.waitFor('kube-apiserver /readyz', () => this.get('/readyz').then((r) => r.status === 200), 90_000);
    const flags = (port: number | undefined): string[] => [
      `--kubeconfig=${this.state.kubeconfig}`,
      `--authentication-kubeconfig=${this.state.kubeconfig}`,
      `--authorization-kubeconfig=${this.state.kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      '--leader-elect=false',
    ];
    this.launch('kube-controller-manager', this.bins.kubeControllerManager, [
      ...flags(ports['kcm']),
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCert}`,
      '--use-service-account-credentials=true',
      '--controllers=*',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--concurrent-statefulset-syncs=10',
      // Kubernetes' own default (50 s): with less, kwok's node status posts (slow on a busy machine) made
      // its node flap NotReady, and the node lifecycle controller cleared pods' Ready, which kwok never
      // restores (seen while benchmarks ran beside the tests).
      '--node-monitor-grace-period=50s',
    ]);
    this.launch('kube-scheduler', this.bins.kubeScheduler, [
      ...flags(ports['scheduler']),
      // ADR 0149: the scheduler can retry a pod on its claim's bind event before its own volume cache
      // has the bind, and then waits for the next relevant event; with none, for this long (default 5 min).
      '--pod-max-in-unschedulable-pods-duration=10s',
    ]);
    // The service-account controller creating "default" in "default" proves kcm's controllers run.
    await this.waitFor(
      'kube-controller-manager (default ServiceAccount)',
      () => this.get('/api/v1/namespaces/default/serviceaccounts/default').then((r) => r.status === 200),
      60_000,
    );
    await this.waitFor('kube-scheduler /healthz', () => this.probe(ports['scheduler'], '/healthz'), 60_000);
    if (withKwok) await this.bootKwok();
  }

  private async bootKwok(): Promise<void> {
    this.launch('kwok', this.bins.kwok, [
      `--kubeconfig=${this.state.kubeconfig}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--cidr=${KWOK_POD_CIDR}`,
      '--node-ip=127.0.2.1',
      // kwok renews a node Lease, the cheap heartbeat kubelet sends: on a busy machine its slower status
      // posts alone let the node flap NotReady, and the node lifecycle controller then cleared every
      // pod's Ready for good (a kwok-pod cluster stuck in Updating under load).
      '--node-lease-duration-seconds=40',
    ]);
    await this.kubectl(['apply', '-f', '-'], fakeNodeYaml(KWOK_NODE_NAME));
    await this.waitFor(
      `kwok node ${KWOK_NODE_NAME} Ready`,
      async () => {
        const r = await this.get(`/api/v1/nodes/${KWOK_NODE_NAME}`);
        if (r.status !== 200) return false;
        const node = JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } };
        return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      },
      60_000,
    );
  }

  private launch(name: string, bin: string, args: string[]): void {
    const proc = new ManagedProcess({ name, logFile: join(this.state.logDir, `${name}.log`), command: bin, args });
    this.processes.push(proc);
    this.launched.set(name, { bin, args });
    (this.state.pids as number[]).push(proc.pid);
    this.writeState();
  }

  /**
   * An outage of one component (`kube-apiserver`, `etcd`, …): SIGKILL to its process group, at once
   * and synchronously, so a caller can cut the control plane off between two requests. `restore`
   * brings it back with the same flags, port and data.
   */
  outage(name: string): void {
    const proc = this.processes.find((p) => p.name === name && p.running);
    if (proc === undefined) throw new Error(`no running component ${name}; known: ${this.processes.map((p) => p.name).join(', ')}`);
    signalGroup(proc.pid, 'SIGKILL');
  }

  /** Starts a component `outage` stopped, and waits until the API server is ready again. */
  async restore(name: string, timeoutMs = 90_000): Promise<void> {
    const spec = this.launched.get(name);
    const old = this.processes.find((p) => p.name === name);
    if (spec === undefined || old === undefined) throw new Error(`no component ${name}`);
    await old.kill();
    this.processes.splice(this.processes.indexOf(old), 1);
    (this.state.pids as number[]).splice(this.state.pids.indexOf(old.pid), 1);
    this.launch(name, spec.bin, spec.args);
    await this.waitFor('kube-apiserver /readyz', () => this.get('/readyz').then((r) => r.status === 200), timeoutMs);
  }

  /** The detached orphan guard: kills our process groups if this process dies without stop(). */
  private startWatchdog(): void {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'watchdog.sh');
    const child = spawn('bash', [script, String(process.pid), join(this.state.dir, 'pids')], {
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
    this.watchdog = child.pid;
  }

  private writeState(): void {
    writeFileSync(join(this.state.dir, 'pids'), this.state.pids.join('\n') + '\n');
    writeFileSync(join(this.state.dir, 'state.json'), JSON.stringify({ ...this.state, owner: process.pid }, null, 2));
  }

  /** Stops every component, newest first (kwok … etcd), and the watchdog. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const proc of [...this.processes].reverse()) await proc.stop();
    if (this.watchdog !== undefined) signalGroup(this.watchdog, 'SIGKILL');
    if (this.removeOnStop) rmSync(this.state.dir, { recursive: true, force: true });
  }

  /** The last lines of every component's log, for a failing test's report. */
  logTails(lines = 20): string {
    return logTails(
      this.state.logDir,
      this.processes.map((p) => p.name),
      lines,
    );
  }

  /** Runs the cached kubectl against this control plane. */
  async kubectl(args: readonly string[], stdin?: string): Promise<string> {
    return kubectlRun(this.bins.kubectl, this.state.kubeconfig, args, stdin);
  }

  /** Waits until the named CRDs are Established (status appears a moment after creation). */
  async waitForCrds(names: readonly string[], timeoutMs = 60_000): Promise<void> {
    for (const name of names) {
      await this.waitFor(
        `CRD ${name} Established`,
        async () => {
          const r = await this.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
          if (r.status !== 200) return false;
          const crd = JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } };
          return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
        },
        timeoutMs,
      );
    }
  }

  /** A kubeconfig authenticating with a token of the static token file. */
  tokenKubeconfig(user: string): string {
    const token = this.state.tokens[user];
    if (token === undefined) throw new Error(`no static token for ${user}; known: ${Object.keys(this.state.tokens).join(', ')}`);
    const file = join(this.state.dir, `${user}.kubeconfig`);
    writeFileSync(file, kubeconfigYaml(this.state.server, this.state.pki.caCert, { token }), { mode: 0o600 });
    return file;
  }

  private async get(path: string): Promise<{ status: number; body: string }> {
    return httpsGet(this.state.server, path, this.state.pki);
  }

  private async probe(port: number | undefined, path: string): Promise<boolean> {
    // kcm and scheduler serve /healthz without authentication over a self-signed cert.
    const r = await httpsGet(`https://127.0.0.1:${port}`, path, undefined).catch(() => ({ status: 0, body: '' }));
    return r.status === 200;
  }

  private async waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const dead = this.processes.find((p) => !p.running);
      if (dead !== undefined) throw new Error(`${dead.name} exited while waiting for ${what}`);
      if (await check().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * kube-apiserver flags for this control plane's etcd, certificates and token file, serving on `port`
 * and keeping its self-signed files in `certDir`. A second apiserver on the same etcd (the bench's)
 * uses them too.
 */
export function kubeApiserverFlags(
  state: Pick<ControlPlaneState, 'dir' | 'pki' | 'ports'>,
  port: number | undefined,
  certDir: string,
): string[] {
  const { dir, pki, ports } = state;
  return [
    `--etcd-servers=http://127.0.0.1:${ports['etcdClient']}`,
    // There is no default route on these machines: without an explicit address the apiserver exits.
    '--advertise-address=127.0.0.1',
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    // A request-header CA (unused: no aggregated APIs) stops the apiserver logging its absence every second.
    `--requestheader-client-ca-file=${pki.caCert}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--allow-privileged=true',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    // Node names do not resolve here; exec and logs reach a kubelet by its InternalIP (kubeadm's order).
    '--kubelet-preferred-address-types=InternalIP,Hostname,InternalDNS,ExternalDNS,ExternalIP',
    `--cert-dir=${certDir}`,
    '--profiling=false',
    '--v=0',
  ];
}

export function logTails(logDir: string, names: readonly string[], lines: number): string {
  return names
    .map((n) => {
      const file = join(logDir, `${n}.log`);
      return `----- ${n} (${file}), last ${lines} lines -----\n${tailFile(file, lines)}`;
    })
    .join('\n');
}

export async function kubectlRun(kubectl: string, kubeconfig: string, args: readonly string[], stdin?: string): Promise<string> {
  const child = run(kubectl, [`--kubeconfig=${kubeconfig}`, ...args], { maxBuffer: 64 * 1024 * 1024 });
  if (stdin !== undefined) {
    child.child.stdin?.end(stdin);
  }
  const { stdout } = await child;
  return stdout;
}

function fakeNodeYaml(name: string): string {
  return `apiVersion: v1
kind: Node
metadata:
  name: ${name}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: ${name}
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    # A zone, as cloud nodes have: complete.yaml spreads its pods over zones (DoNotSchedule).
    topology.kubernetes.io/zone: zone-a
    type: kwok
status:
  # Huge pages too: crds/examples/complete.yaml asks for both sizes.
  allocatable: {cpu: "64", memory: 256Gi, pods: "1000", hugepages-2Mi: 4Gi, hugepages-1Gi: 8Gi}
  capacity: {cpu: "64", memory: 256Gi, pods: "1000", hugepages-2Mi: 4Gi, hugepages-1Gi: 8Gi}
`;
}
