// The node's kubelet API for `kubectl exec`: the API server forwards pods/exec to the Node's
// status.daemonEndpoints.kubeletEndpoint, where pgfn-kubelet-exec (kubelet's own streaming code, built
// by hack/build-bins.sh from kubelet-exec/main.go) runs the command in the container's sandbox. The
// agent tells it which sandbox and environment belong to a container through one file per running
// container in the targets directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cacheDir, readVersions } from '@pgfn/controlplane';

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), '..', 'kubelet-exec', 'main.go');

/** What an exec into a running container needs: its sandbox (pid of `unshare`) and its environment. */
export interface ExecTarget {
  readonly pid: number;
  readonly env: Readonly<Record<string, string>>;
}

/** The cached binary for this source and Kubernetes version (the key hack/build-bins.sh uses). */
export function kubeletExecBinary(): string {
  const staging = readVersions()['KUBERNETES_STAGING_VERSION'] ?? '';
  const key = createHash('sha256').update(readFileSync(SOURCE)).update(`${staging}\n`).digest('hex').slice(0, 12);
  const bin = join(cacheDir(), 'bin', `pgfn-kubelet-exec-${key}`, 'pgfn-kubelet-exec');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run bash hack/build-bins.sh kubelet-exec (hack/setup.sh does)`);
  return bin;
}

export class KubeletExecServer {
  private child: ChildProcess | undefined;

  constructor(private readonly targetsDir: string) {
    mkdirSync(targetsDir, { recursive: true, mode: 0o700 });
  }

  /** Starts the server on the node address; resolves with its port. */
  async start(address: string, log: (line: string) => void): Promise<number> {
    // Its own process group, so the agent's watchdog can kill it with the sandboxes.
    const child = spawn(kubeletExecBinary(), ['--address', address, '--targets', this.targetsDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    createInterface({ input: child.stderr }).on('line', (line) => log(`kubelet-exec: ${line}`));
    const lines = createInterface({ input: child.stdout });
    return new Promise((resolvePort, reject) => {
      child.once('exit', (code) => reject(new Error(`pgfn-kubelet-exec exited with ${code} before listening`)));
      lines.once('line', (line) => {
        const port = Number(/^port (\d+)$/.exec(line)?.[1]);
        if (Number.isInteger(port) && port > 0) resolvePort(port);
        else reject(new Error(`pgfn-kubelet-exec said "${line}" instead of its port`));
      });
    });
  }

  /** Records (or with undefined, forgets) the running sandbox of `namespace/pod`'s container. */
  setTarget(podKey: string, container: string, target: ExecTarget | undefined): void {
    const [namespace, pod] = podKey.split('/');
    const file = join(this.targetsDir, `${namespace}_${pod}_${container}.json`);
    if (target === undefined) rmSync(file, { force: true });
    else writeFileSync(file, JSON.stringify(target), { mode: 0o600 });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  stop(): void {
    this.child?.kill('SIGTERM');
    this.child = undefined;
  }
}
