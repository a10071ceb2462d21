import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@pgfn/controlplane';
import type { FloorConfig, FloorStats } from './floor-side-main.js';
import { BenchProcess, startIpcChild, type IpcRequester } from './proc.js';

/**
 * The floor side: one process that applies pre-rendered objects and writes status Running, no
 * operator (see floor-side-main.ts). Its process tree is measured like the operators'.
 */
export class FloorSide {
  private constructor(
    readonly proc: BenchProcess,
    private readonly ipc: IpcRequester,
  ) {}

  static async start(opts: { kubeconfig: string; logDir: string; config: FloorConfig }): Promise<FloorSide> {
    mkdirSync(opts.logDir, { recursive: true });
    const proc = new BenchProcess({
      name: 'floor-side',
      logFile: join(opts.logDir, 'floor.log'),
      command: process.execPath,
      args: ['--import', 'tsx', join(repoRoot, 'bench/lib/floor-side-main.ts')],
      env: { ...process.env, KUBECONFIG: opts.kubeconfig, PGFN_BENCH_FLOOR: JSON.stringify(opts.config) },
      cwd: repoRoot,
      ipc: true,
    });
    // Rendering every cluster happens here, before the clock starts.
    const ipc = await startIpcChild({ proc, what: 'the floor client (objects rendered, pods watched)', timeoutMs: 600_000 });
    return new FloorSide(proc, ipc);
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** Starts applying every cluster's objects. */
  async go(): Promise<void> {
    await this.ipc.request({ cmd: 'go' });
  }

  async stats(): Promise<FloorStats> {
    return (await this.ipc.request({ cmd: 'stats' }))['stats'] as FloorStats;
  }

  async stop(): Promise<void> {
    if (!this.proc.running) return;
    await Promise.race([this.ipc.request({ cmd: 'stop' }).catch(() => undefined), new Promise((r) => setTimeout(r, 20_000))]);
    await this.proc.stop();
  }
}
