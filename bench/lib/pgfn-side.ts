import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@pgfn/controlplane';
import { bundleEntry, bundleFunction } from '@pgfn/pipeline';
import { CONFIG_MAP_REF } from './operator-config.js';
import type { SideConfig, SideRequest, SideStats } from './pgfn-side-main.js';
import { BenchProcess, startIpcChild, type IpcRequester } from './proc.js';
import { SYSTEM_NAMESPACE } from './namespaces.js';

/** Every function with a `functions/<name>/src/main.ts`. */
export function existingFunctions(): string[] {
  return readdirSync(join(repoRoot, 'functions'))
    .filter((d) => existsSync(join(repoRoot, 'functions', d, 'src/main.ts')))
    .sort();
}

let runDir: string | undefined;

/**
 * This bench run's own bundle directory: a shared one let another run (another worktree's code)
 * overwrite the bundles a running side was about to start a function instance from.
 */
function bundleDir(): string {
  if (runDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'pgfn-bench-bundles-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    runDir = dir;
  }
  return runDir;
}

/** Bundles each function once per bench run, as the image does (the launcher .mjs run by plain node, ADR 0117). */
export async function bundleAll(fns: readonly string[]): Promise<Record<string, string>> {
  const dir = bundleDir();
  const out: Record<string, string> = {};
  for (const fn of fns) out[fn] = (await bundleFunction(fn, dir)).file;
  return out;
}

/**
 * pgfn as it runs without a cluster: Knative's receive adapters watching the apiserver, a local
 * broker routing with the Triggers of knative/, and the functions as processes. All of it in one
 * process tree rooted at `pid`.
 */
export class PgfnSide {
  private constructor(
    readonly proc: BenchProcess,
    private readonly ipc: IpcRequester,
  ) {}

  static async start(opts: {
    kubeconfig: string;
    logDir: string;
    bundles: Record<string, string>;
    idleMs?: number;
    nodeArgs?: readonly string[];
    /** Admin kubeconfig: run on the Knative path (Knative Eventing's own processes, ADR 0060). */
    knative?: string;
  }): Promise<PgfnSide> {
    mkdirSync(opts.logDir, { recursive: true });
    const config: SideConfig = {
      kubeconfig: opts.kubeconfig,
      logDir: opts.logDir,
      bundles: opts.bundles,
      idleMs: opts.idleMs ?? 3_600_000,
      nodeArgs: opts.nodeArgs ?? [],
      ...(opts.knative === undefined ? {} : { knative: opts.knative }),
      // The same configuration source as Zalando's operator; functions log at info, as in the image.
      env: { OPERATOR_NAMESPACE: SYSTEM_NAMESPACE, CONFIG_MAP_NAME: CONFIG_MAP_REF, LOG_LEVEL: 'info' },
    };
    // Bundled like the functions: run from source, tsx's compiling would count as the broker's CPU.
    const side = await bundleEntry(join(repoRoot, 'bench/lib/pgfn-side-main.ts'), 'pgfn-side', bundleDir());
    const proc = new BenchProcess({
      name: 'pgfn-side',
      logFile: join(opts.logDir, 'side.log'),
      command: process.execPath,
      args: [side.file],
      env: { ...process.env, KUBECONFIG: opts.kubeconfig, PGFN_BENCH_SIDE: JSON.stringify(config), PGFN_REPO_ROOT: repoRoot },
      cwd: repoRoot,
      ipc: true,
    });
    const ipc = await startIpcChild({
      proc,
      what: 'the pgfn pipeline (receive adapters watching, broker listening)',
      // Knative's path waits for its controllers to make the Broker, Triggers and sources Ready.
      timeoutMs: opts.knative === undefined ? 120_000 : 600_000,
    });
    return new PgfnSide(proc, ipc);
  }

  get pid(): number {
    return this.proc.pid;
  }

  async stats(): Promise<SideStats> {
    return (await this.request({ cmd: 'stats' }))['stats'] as SideStats;
  }

  /** No delivery in flight in the broker (a cheap poll; stats() counts every delivery). */
  async idle(): Promise<boolean> {
    return (await this.request({ cmd: 'idle' }))['idle'] === true;
  }

  /** Fires the resync PingSource and resolves when reconcile has answered it (on the Knative path: once fired, ms undefined). */
  async resync(): Promise<{ ms: number | undefined; record: unknown }> {
    const r = await this.request({ cmd: 'resync' });
    return { ms: r['ms'] as number | undefined, record: r['record'] };
  }

  async stop(): Promise<void> {
    if (!this.proc.running) return;
    await Promise.race([this.request({ cmd: 'stop' }).catch(() => undefined), new Promise((r) => setTimeout(r, 20_000))]);
    await this.proc.stop();
  }

  private async request(req: Omit<SideRequest, 'seq'>): Promise<Record<string, unknown>> {
    return this.ipc.request(req);
  }
}
