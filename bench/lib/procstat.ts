import { readFileSync, readdirSync } from 'node:fs';

/** Linux clock ticks per second (`getconf CLK_TCK`; 100 on every kernel config in use). */
const TICKS = 100;

export interface ProcSample {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  /** utime + stime of the process itself, seconds. */
  readonly cpuSeconds: number;
  /** cutime + cstime: children it has waited for (exited function processes end up here). */
  readonly reapedCpuSeconds: number;
  readonly rssMiB: number;
  /** VmHWM: the process's own peak resident set. */
  readonly peakRssMiB: number;
}

export function readProc(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    // Fields after the command: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
    const f = stat.slice(close + 2).split(' ');
    const n = (i: number): number => Number(f[i - 3] ?? 0);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return {
      pid,
      ppid: n(4),
      comm,
      cpuSeconds: (n(14) + n(15)) / TICKS,
      reapedCpuSeconds: (n(16) + n(17)) / TICKS,
      rssMiB: kib('VmRSS') / 1024,
      peakRssMiB: kib('VmHWM') / 1024,
    };
  } catch {
    return undefined;
  }
}

/** `root` and every live descendant. */
export function processTree(root: number): ProcSample[] {
  const all: ProcSample[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = readProc(Number(d));
    if (s !== undefined) all.push(s);
  }
  const children = new Map<number, ProcSample[]>();
  for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const out: ProcSample[] = [];
  const visit = (pid: number): void => {
    const self = all.find((s) => s.pid === pid);
    if (self !== undefined) out.push(self);
    for (const c of children.get(pid) ?? []) visit(c.pid);
  };
  visit(root);
  return out;
}

export interface ComponentUsage {
  readonly name: string;
  readonly processes: number;
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
}

export interface TreeUsage {
  /** CPU seconds of the whole tree over the window (live processes and reaped ones). */
  readonly cpuSeconds: number;
  /** Largest sum of RSS over the tree seen in one sample (what the side held at once). */
  readonly peakRssMiB: number;
  /** The same per group of processes (see the sampler's `group`). */
  readonly peakRssMiBByGroup: Record<string, number>;
  /** Sum of each process's own VmHWM (an upper bound if processes peaked at different times). */
  readonly sumOfPeaksMiB: number;
  readonly components: readonly ComponentUsage[];
  readonly samples: number;
}

/**
 * Samples a process tree every `everyMs`: CPU seconds since start() and peak RSS. A process that
 * exits keeps the CPU of its last sample, under its own name (not its parent's, whose cutime also holds it).
 */
export interface TreeSamplerOptions {
  /** The tree's roots now (they may change, e.g. an operator restarted). */
  readonly roots: () => readonly number[];
  /** A component name per process, applied when usage is computed. */
  readonly name: (s: ProcSample) => string;
  /** A group per process, applied at each sample (for peak RSS per group); one group by default. */
  readonly group?: (s: ProcSample) => string;
  /** Count each process's CPU from its start rather than from start(). */
  readonly fromBirth?: boolean;
  readonly everyMs?: number;
}

export class TreeSampler {
  private timer: NodeJS.Timeout | undefined;
  /** CPU and reaped-children CPU of each process when first seen (zero when counted from birth). */
  private readonly first = new Map<number, { cpu: number; reaped: number }>();
  private readonly last = new Map<number, ProcSample>();
  private live = new Set<number>();
  private peakSum = 0;
  private readonly peakByGroup = new Map<string, number>();
  private samples = 0;

  private readonly roots: () => readonly number[];
  private readonly name: (s: ProcSample) => string;
  private readonly group: (s: ProcSample) => string;
  private readonly fromBirth: boolean;
  private readonly everyMs: number;

  constructor(opts: TreeSamplerOptions) {
    this.roots = opts.roots;
    this.name = opts.name;
    this.group = opts.group ?? (() => 'all');
    this.fromBirth = opts.fromBirth ?? false;
    this.everyMs = opts.everyMs ?? 1000;
  }

  start(): void {
    if (!this.fromBirth)
      for (const s of this.roots().flatMap(processTree)) this.first.set(s.pid, { cpu: s.cpuSeconds, reaped: s.reapedCpuSeconds });
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  /** Usage so far (samples now). */
  usageNow(): TreeUsage {
    this.sample();
    return this.usage();
  }

  /** Takes a final sample and stops; call it before the processes are stopped. */
  stop(): TreeUsage {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.sample();
    return this.usage();
  }

  private usage(): TreeUsage {
    const byName = new Map<string, { processes: number; cpu: number; peak: number }>();
    let cpu = 0;
    let sumOfPeaks = 0;
    // An exited child's CPU is also in its parent's cutime once reaped. Each process keeps its own CPU
    // (to its last sample); its parent's reaped CPU counts only what its sampled exited children do not
    // explain (a child's CPU after its last sample, children too short-lived to be sampled).
    const exitedChildren = new Map<number, number>();
    for (const s of this.last.values()) {
      if (this.live.has(s.pid)) continue;
      exitedChildren.set(s.ppid, (exitedChildren.get(s.ppid) ?? 0) + s.cpuSeconds + s.reapedCpuSeconds);
    }
    for (const s of this.last.values()) {
      const first = this.first.get(s.pid) ?? { cpu: 0, reaped: 0 };
      const reaped = Math.max(0, s.reapedCpuSeconds - first.reaped - (exitedChildren.get(s.pid) ?? 0));
      const used = s.cpuSeconds - first.cpu + reaped;
      cpu += used;
      sumOfPeaks += s.peakRssMiB;
      const c = byName.get(this.name(s)) ?? { processes: 0, cpu: 0, peak: 0 };
      byName.set(this.name(s), { processes: c.processes + 1, cpu: c.cpu + used, peak: Math.max(c.peak, s.peakRssMiB) });
    }
    return {
      cpuSeconds: cpu,
      peakRssMiB: this.peakSum,
      peakRssMiBByGroup: Object.fromEntries(this.peakByGroup),
      sumOfPeaksMiB: sumOfPeaks,
      samples: this.samples,
      components: [...byName].map(([name, c]) => ({ name, processes: c.processes, cpuSeconds: c.cpu, peakRssMiB: c.peak })),
    };
  }

  private sample(): void {
    const tree = this.roots().flatMap(processTree);
    let sum = 0;
    const byGroup = new Map<string, number>();
    for (const s of tree) {
      this.last.set(s.pid, s);
      if (!this.first.has(s.pid)) this.first.set(s.pid, { cpu: 0, reaped: 0 });
      sum += s.rssMiB;
      byGroup.set(this.group(s), (byGroup.get(this.group(s)) ?? 0) + s.rssMiB);
    }
    for (const [g, v] of byGroup) this.peakByGroup.set(g, Math.max(this.peakByGroup.get(g) ?? 0, v));
    this.live = new Set(tree.map((s) => s.pid));
    this.peakSum = Math.max(this.peakSum, sum);
    this.samples++;
  }
}
