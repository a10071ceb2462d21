import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ControlPlane, binaries, clientCert, freePort, httpsGet, kubeApiserverFlags, kubeconfigYaml, repoRoot } from '@pgfn/controlplane';
import { auditPolicy } from './audit.js';
import { CLUSTER_NAMESPACE, PGFN_NAMESPACE, SYSTEM_NAMESPACE } from './namespaces.js';
import { BenchProcess, waitUntil } from './proc.js';

/** The client-certificate users of the sides (pgfn, Zalando, the floor); the audit policy logs only these. */
export const SIDE_USERS = ['pgfn-bench', 'zalando-bench', 'floor-bench'] as const;
/** Pods per fake node (the control plane's own kwok node takes 1,000 too). */
const PODS_PER_NODE = 1000;

export interface Side {
  /** Client-certificate user the side authenticates as (O=system:masters, like a cluster-admin binding). */
  readonly user: string;
  /** Kubeconfig pointing at the operator-facing apiserver. */
  readonly kubeconfig: string;
}

/**
 * A fresh control plane for one side of the comparison, plus a second kube-apiserver on the same
 * etcd that only the operator under test talks to, with an audit log of that operator's user's
 * requests. kube-controller-manager, the scheduler, kwok and the bench's own helpers use the first
 * one (ADR 0008).
 */
export class BenchStack {
  readonly cp: ControlPlane;
  readonly operatorApiserver: BenchProcess;
  readonly operatorServer: string;
  readonly admin: k8s.KubeConfig;
  /** Audit log (JSON lines) of the operator-facing apiserver: the side's requests only. */
  readonly auditLog: string;

  private constructor(parts: Pick<BenchStack, 'cp' | 'operatorApiserver' | 'operatorServer' | 'admin' | 'auditLog'>) {
    this.cp = parts.cp;
    this.operatorApiserver = parts.operatorApiserver;
    this.operatorServer = parts.operatorServer;
    this.admin = parts.admin;
    this.auditLog = parts.auditLog;
  }

  /** `dir`: the control plane's directory, kept after the run (its audit log and logs); a temporary one otherwise. */
  static async start(opts: { clusters: number; dir?: string }): Promise<BenchStack> {
    const cp = await ControlPlane.start(opts.dir === undefined ? {} : { dir: opts.dir });
    let apiserver: BenchProcess | undefined;
    try {
      const port = await freePort();
      const auditLog = join(cp.state.logDir, 'operator-audit.jsonl');
      apiserver = startOperatorApiserver(cp, port, auditLog);
      adopt(cp, apiserver.pid);
      const server = `https://127.0.0.1:${port}`;
      await waitUntil(
        'the operator-facing kube-apiserver /readyz',
        async () => (await httpsGet(server, '/readyz', cp.state.pki, 10_000)).status === 200,
        90_000,
      );
      const admin = new k8s.KubeConfig();
      admin.loadFromFile(cp.kubeconfig);
      const stack = new BenchStack({ cp, operatorApiserver: apiserver, operatorServer: server, admin, auditLog });
      await stack.prepare(opts.clusters);
      return stack;
    } catch (err) {
      await apiserver?.stop();
      await cp.stop();
      throw err;
    }
  }

  get dir(): string {
    return this.cp.state.dir;
  }

  /** CRDs, namespaces and enough fake nodes for every pod (two per cluster, with room to spare). */
  private async prepare(clusters: number): Promise<void> {
    await this.cp.kubectl([
      'apply',
      '--server-side',
      '-f',
      join(repoRoot, 'crds/postgresql.crd.yaml'),
      '-f',
      join(repoRoot, 'crds/operatorconfiguration.crd.yaml'),
      '-f',
      join(repoRoot, 'crds/postgresteam.crd.yaml'),
    ]);
    await this.cp.waitForCrds(['postgresqls.acid.zalan.do', 'operatorconfigurations.acid.zalan.do', 'postgresteams.acid.zalan.do']);
    // The second apiserver serves a CRD once its own informer has seen it.
    await waitUntil(
      'postgresqls served by the operator-facing apiserver',
      async () =>
        (await httpsGet(this.operatorServer, '/apis/acid.zalan.do/v1/postgresqls?limit=1', this.cp.state.pki, 10_000)).status === 200,
      60_000,
    );
    const core = this.admin.makeApiClient(k8s.CoreV1Api);
    for (const name of [SYSTEM_NAMESPACE, CLUSTER_NAMESPACE, PGFN_NAMESPACE]) {
      await core.createNamespace({ body: { metadata: { name } } });
    }
    const extraNodes = Math.max(0, Math.ceil((clusters * 2 + 50) / PODS_PER_NODE) - 1);
    for (let i = 1; i <= extraNodes; i++) await core.createNode({ body: fakeNode(`kwok-node-${i}`) });
  }

  /** Process groups the control plane's orphan guard also ends if the bench dies without cleaning up. */
  adopt(pid: number): void {
    adopt(this.cp, pid);
  }

  /** A client certificate for `user` (system:masters) and a kubeconfig to the operator-facing apiserver. */
  async side(user: (typeof SIDE_USERS)[number]): Promise<Side> {
    const { pki, dir } = this.cp.state;
    const cert = await clientCert(join(dir, 'pki'), { name: user, user, groups: ['system:masters'] });
    const kubeconfig = join(dir, `${user}.kubeconfig`);
    writeFileSync(kubeconfig, kubeconfigYaml(this.operatorServer, pki.caCert, cert, 'bench'), {
      mode: 0o600,
    });
    return { user, kubeconfig };
  }

  async stop(): Promise<void> {
    await this.operatorApiserver.stop();
    await this.cp.stop();
  }
}

/**
 * The control plane's watchdog ends every process group listed in its `pids` file once the process
 * that started it is gone; the file is only written while the control plane boots, so appending works.
 */
function adopt(cp: ControlPlane, pid: number): void {
  appendFileSync(join(cp.state.dir, 'pids'), `${pid}\n`);
}

/** The control plane's own apiserver flags, another port and cert folder, plus auditing. */
function startOperatorApiserver(cp: ControlPlane, port: number, auditLog: string): BenchProcess {
  const { dir, logDir } = cp.state;
  const certDir = join(dir, 'pki-operator-apiserver');
  mkdirSync(certDir, { recursive: true });
  const policy = join(dir, 'bench-audit-policy.yaml');
  writeFileSync(policy, auditPolicy(SIDE_USERS));
  return new BenchProcess({
    name: 'operator-apiserver',
    logFile: join(logDir, 'operator-apiserver.log'),
    command: binaries().kubeApiserver,
    args: [
      ...kubeApiserverFlags(cp.state, port, certDir),
      // Written synchronously (blocking mode), never rotated: phases are cut by byte offsets.
      `--audit-policy-file=${policy}`,
      `--audit-log-path=${auditLog}`,
      '--audit-log-format=json',
      '--audit-log-mode=blocking',
      '--audit-log-maxsize=0',
    ],
  });
}

function fakeNode(name: string): k8s.V1Node {
  return {
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      // type=kwok: the bench manifests require it by node affinity, like the control plane's own node.
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', type: 'kwok' },
    },
    status: {
      allocatable: { cpu: '64', memory: '256Gi', pods: String(PODS_PER_NODE) },
      capacity: { cpu: '64', memory: '256Gi', pods: String(PODS_PER_NODE) },
    },
  };
}
