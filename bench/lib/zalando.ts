import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { assertExclusive, cacheDir, ZALANDO_OPERATOR } from '@pgfn/controlplane';
import { CONFIG_MAP_REF } from './operator-config.js';
import { BenchProcess, waitUntil } from './proc.js';
import { SYSTEM_NAMESPACE } from './namespaces.js';

const run = promisify(execFile);

const MODULE = 'github.com/zalando/postgres-operator';
/**
 * The version of Zalando's operator compared against. Its v2 tags are not valid Go module versions
 * (no /v2 module path), and the module proxy this machine reaches serves v1.15.1 as its newest
 * version; pass --zalando-version to use another one (a tag or a pseudo-version).
 */
export const ZALANDO_VERSION = 'v1.15.1';

/** Where the built binary is cached, keyed by version. */
export function zalandoBinary(version = ZALANDO_VERSION): string {
  return join(cacheDir(), 'bench', `zalando-${version}`, 'postgres-operator');
}

/**
 * Builds Zalando's operator from its Go module (never from a copy of its source) unless cached:
 * `go install <module>/cmd@<version>`. When the proxy refuses the version-list lookup `go install`
 * makes for deprecation notices, the same module version is built through a throwaway main module
 * that only requires it. Nothing of it lands in this repository.
 */
export async function ensureZalando(version = ZALANDO_VERSION, log: (line: string) => void = () => undefined): Promise<string> {
  const bin = zalandoBinary(version);
  if (existsSync(bin)) return bin;
  const dir = join(cacheDir(), 'bench', `zalando-${version}`);
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, CGO_ENABLED: '0', GOBIN: dir, GOFLAGS: '-buildvcs=false' };
  log(`building Zalando's operator ${version} from the Go module proxy (a few minutes, once)`);
  try {
    await run('go', ['install', `${MODULE}/cmd@${version}`], { env, maxBuffer: 16 << 20 });
    await run('mv', [join(dir, 'cmd'), bin]);
    return bin;
  } catch (err) {
    log(`go install failed (${firstLine(err)}); building the same module version through a wrapper module`);
  }
  const wrapper = join(dir, 'wrapper');
  mkdirSync(wrapper, { recursive: true });
  // The operator's own go directive decides its GODEBUG defaults; a wrapper's would not (Go 1.26 here).
  writeFileSync(join(wrapper, 'go.mod'), `module pgfn.local/bench/zalando\n\ngo 1.25\n\ngodebug default=go1.25\n`);
  await run('go', ['get', `${MODULE}/cmd@${version}`], { cwd: wrapper, env, maxBuffer: 16 << 20 });
  await run('go', ['build', '-o', bin, `${MODULE}/cmd`], { cwd: wrapper, env, maxBuffer: 16 << 20 });
  return bin;
}

/**
 * The folder of Zalando's module source in the Go module cache, downloaded from the module proxy when
 * missing (`go mod download`, the same registry the build uses). Read-only; nothing of it is copied
 * into this repository.
 */
export async function zalandoModuleDir(version = ZALANDO_VERSION): Promise<string> {
  const { stdout } = await run('go', ['mod', 'download', '-json', `${MODULE}@${version}`], {
    env: { ...process.env, GOFLAGS: '-mod=mod' },
    cwd: tmpdir(),
    maxBuffer: 4 << 20,
  });
  const info = JSON.parse(stdout) as { Dir?: string; Error?: string };
  if (info.Dir === undefined || !existsSync(info.Dir)) throw new Error(`go mod download ${MODULE}@${version}: ${info.Error ?? 'no Dir'}`);
  return info.Dir;
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr ?? e.message ?? String(err)).split('\n').find((l) => l.trim() !== '') ?? '';
}

export interface ZalandoOptions {
  readonly binary: string;
  readonly kubeconfig: string;
  readonly logFile: string;
  /** client-go rate limit (-kubeqps / -kubeburst); undefined keeps upstream's defaults (10 / 20). */
  readonly qps?: number;
  /** `<namespace>/<name>` of the operator ConfigMap; the bench's by default. */
  readonly configMap?: string;
  /** OPERATOR_NAMESPACE; the bench's system namespace by default. */
  readonly operatorNamespace?: string;
}

/**
 * Zalando's operator out of cluster, as upstream documents for local runs: -outofcluster with a
 * kubeconfig, no database access, no Teams API, the ConfigMap form of the configuration.
 */
export class ZalandoOperator {
  private constructor(readonly proc: BenchProcess) {}

  static async start(opts: ZalandoOptions): Promise<ZalandoOperator> {
    assertExclusive("Zalando's operator", ZALANDO_OPERATOR);
    const args = [
      '-outofcluster',
      `-kubeconfig=${opts.kubeconfig}`,
      '-nodatabaseaccess',
      '-noteamsapi',
      ...(opts.qps === undefined ? [] : [`-kubeqps=${opts.qps}`, `-kubeburst=${opts.qps * 2}`]),
    ];
    const proc = new BenchProcess({
      name: 'zalando',
      logFile: opts.logFile,
      command: opts.binary,
      args,
      env: {
        PATH: process.env['PATH'],
        HOME: process.env['HOME'],
        OPERATOR_NAMESPACE: opts.operatorNamespace ?? SYSTEM_NAMESPACE,
        CONFIG_MAP_NAME: opts.configMap ?? CONFIG_MAP_REF,
      },
    });
    const op = new ZalandoOperator(proc);
    await waitUntil(
      "Zalando's operator to start its informers",
      () => {
        if (!proc.running) throw new Error(`Zalando's operator exited:\n${proc.tail(20)}`);
        return op.count('started working in background') > 0;
      },
      60_000,
      100,
    );
    return op;
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** Lines of this instance's log containing `text`. */
  count(text: string): number {
    const log = this.proc.logSinceStart();
    let n = 0;
    for (let i = log.indexOf(text); i >= 0; i = log.indexOf(text, i + text.length)) n++;
    return n;
  }

  /** Clusters this instance has finished syncing (its start-up sync, or a periodic one). */
  synced(): number {
    return this.count('cluster has been synced');
  }

  async stop(): Promise<void> {
    await this.proc.stop();
  }
}
