// One container of a pod, with kubelet's lifecycle: start, exit, restart per restartPolicy with
// crash-loop back-off (first restart at once, then 10 s doubling to 5 min, reset after 10 min of
// running), readiness and liveness probes, graceful stop. Containers of kinds we do not run are
// simulated: they "run" without a process, like kwok's.
import type { V1Container, V1ContainerState, V1ContainerStatus, V1Probe } from '@kubernetes/client-node';
import { ContainerConfigError } from './env.js';
import { runProbe } from './probes.js';
import type { ExecTarget } from './kubelet-exec.js';
import type { ContainerRuntime, Launch, LaunchContext } from './runtime.js';
import { SandboxProcess, type SandboxExit } from './sandbox.js';

export interface BackoffSettings {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A run at least this long resets the back-off. */
  readonly resetAfterMs: number;
}

export const KUBELET_BACKOFF: BackoffSettings = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

export interface ContainerDeps {
  readonly podKey: string;
  /** undefined: simulated container. */
  readonly runtime: ContainerRuntime | undefined;
  readonly context: () => Promise<LaunchContext>;
  readonly restartPolicy: string;
  readonly backoff: BackoffSettings;
  /** Upper bound for probe periods and initial delays (tests); undefined keeps the pod's values. */
  readonly probePeriodCapSeconds: number | undefined;
  readonly podIP: () => string;
  readonly log: (message: string) => void;
  /** Called when the process group starts or ends, for the orphan guard. */
  readonly onProcess: (pgid: number, running: boolean) => void;
  /** Where `kubectl exec` finds the running sandbox (undefined: it stopped). */
  readonly onExecTarget?: (container: string, target: ExecTarget | undefined) => void;
}

type Phase = 'waiting' | 'running' | 'terminated';

interface ProbeTrack {
  successes: number;
  failures: number;
  nextAt: number;
  inFlight: boolean;
}

export class ContainerWorker {
  private phase: Phase = 'waiting';
  private waiting = { reason: 'ContainerCreating', message: '' };
  private startedAt: Date | undefined;
  private finished: { exitCode: number; signal?: number; reason: string; finishedAt: Date; message?: string } | undefined;
  private lastState: V1ContainerState | undefined;
  private restartCount = 0;
  private ready = false;
  private everStarted = false;
  private process: SandboxProcess | undefined;
  private launch: Launch | undefined;
  private nextStartAt = 0;
  private backoffMs = 0;
  private delayMs = 0;
  private stopping = false;
  private starting = false;
  private upkeepBusy = false;
  private readonly readiness: ProbeTrack = { successes: 0, failures: 0, nextAt: 0, inFlight: false };
  private readonly liveness: ProbeTrack = { successes: 0, failures: 0, nextAt: 0, inFlight: false };

  constructor(
    readonly spec: V1Container,
    private readonly deps: ContainerDeps,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get isReady(): boolean {
    return this.phase === 'running' && this.ready;
  }

  get hasStarted(): boolean {
    return this.everStarted;
  }

  /** Terminated and, per restartPolicy, never coming back. */
  get isDone(): boolean {
    return this.phase === 'terminated' && !this.willRestart();
  }

  get exitCode(): number | undefined {
    return this.finished?.exitCode;
  }

  get running(): boolean {
    return this.phase === 'running';
  }

  /** Drives the container one step: start/restart when due, upkeep and probes while running. */
  async tick(now = Date.now()): Promise<void> {
    if (this.stopping || this.starting) return;
    if (this.phase === 'running') {
      this.upkeep();
      this.probe(now);
      return;
    }
    if (this.phase === 'terminated') {
      if (!this.willRestart()) return;
      this.toWaitingForRestart();
    }
    if (now < this.nextStartAt) return;
    await this.start();
  }

  private willRestart(): boolean {
    if (this.stopping) return false;
    const policy = this.deps.restartPolicy;
    return policy === 'Always' || (policy === 'OnFailure' && (this.finished?.exitCode ?? 0) !== 0);
  }

  private toWaitingForRestart(): void {
    this.phase = 'waiting';
    this.waiting =
      this.nextStartAt > Date.now()
        ? {
            reason: 'CrashLoopBackOff',
            message: `back-off ${Math.ceil(this.delayMs / 1000)}s restarting failed container=${this.name} pod=${this.deps.podKey}`,
          }
        : { reason: 'ContainerCreating', message: '' };
  }

  private async start(): Promise<void> {
    this.starting = true;
    try {
      if (this.deps.runtime === undefined) {
        this.launch = undefined;
        this.markRunning(new Date());
        return;
      }
      const launch = await this.deps.runtime.launch(await this.deps.context());
      if (this.stopping) return;
      this.launch = launch;
      const process = new SandboxProcess(launch.sandbox);
      this.process = process;
      if (process.pgid !== undefined) {
        this.deps.onProcess(process.pgid, true);
        this.deps.onExecTarget?.(this.name, { pid: process.pgid, env: launch.execEnv ?? launch.sandbox.env });
      }
      this.markRunning(new Date());
      void process.exited.then((exit) => this.onExit(process, exit));
    } catch (err) {
      const config = err instanceof ContainerConfigError;
      this.phase = 'waiting';
      this.waiting = { reason: config ? 'CreateContainerConfigError' : 'RunContainerError', message: (err as Error).message };
      this.deps.log(`container ${this.name}: ${this.waiting.reason}: ${this.waiting.message}`);
      // kubelet retries on its next pod sync.
      this.nextStartAt = Date.now() + 5_000;
    } finally {
      this.starting = false;
    }
  }

  private markRunning(at: Date): void {
    if (this.everStarted) this.restartCount++;
    if (this.finished !== undefined) this.lastState = this.terminatedState();
    this.everStarted = true;
    this.phase = 'running';
    this.startedAt = at;
    this.finished = undefined;
    // Without a readiness probe a running container is ready (kubelet).
    this.ready = this.spec.readinessProbe === undefined || this.deps.runtime === undefined;
    const delay = (p: V1Probe | undefined): number => at.getTime() + this.capped(p?.initialDelaySeconds ?? 0) * 1000;
    Object.assign(this.readiness, { successes: 0, failures: 0, nextAt: delay(this.spec.readinessProbe) });
    Object.assign(this.liveness, { successes: 0, failures: 0, nextAt: delay(this.spec.livenessProbe) });
    this.deps.log(`container ${this.name} started${this.restartCount > 0 ? ` (restart ${this.restartCount})` : ''}`);
  }

  private onExit(process: SandboxProcess, exit: SandboxExit): void {
    if (process.pgid !== undefined) this.deps.onProcess(process.pgid, false);
    if (this.process !== process) return;
    this.process = undefined;
    this.deps.onExecTarget?.(this.name, undefined);
    const signal = exit.signal === null ? undefined : signalNumber(exit.signal);
    const exitCode = exit.code ?? 128 + (signal ?? 0);
    const finishedAt = new Date();
    this.finished = { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', finishedAt, ...(signal === undefined ? {} : { signal }) };
    this.phase = 'terminated';
    this.ready = false;
    const ran = finishedAt.getTime() - (this.startedAt?.getTime() ?? 0);
    if (ran >= this.deps.backoff.resetAfterMs) this.backoffMs = 0;
    const hold = Math.max(this.nextStartAt - Date.now(), 0);
    this.delayMs = Math.max(this.backoffMs, hold);
    this.nextStartAt = Date.now() + this.delayMs;
    this.backoffMs = this.backoffMs === 0 ? this.deps.backoff.initialMs : Math.min(this.backoffMs * 2, this.deps.backoff.maxMs);
    this.deps.log(`container ${this.name} exited with ${exitCode}${signal === undefined ? '' : ` (signal ${exit.signal})`}`);
  }

  private upkeep(): void {
    const process = this.process;
    if (this.launch?.upkeep === undefined || process === undefined || this.upkeepBusy) return;
    this.upkeepBusy = true;
    this.launch
      .upkeep(process)
      .catch((err: unknown) => this.deps.log(`container ${this.name} upkeep: ${(err as Error).message}`))
      .finally(() => {
        this.upkeepBusy = false;
      });
  }

  private probe(now: number): void {
    if (this.deps.runtime === undefined) return;
    const readiness = this.spec.readinessProbe;
    if (readiness !== undefined) {
      this.runProbe(readiness, this.readiness, now, (ok) => {
        if (ok && this.readiness.successes >= (readiness.successThreshold ?? 1)) this.ready = true;
        if (!ok && this.readiness.failures >= (readiness.failureThreshold ?? 3)) this.ready = false;
      });
    }
    const liveness = this.spec.livenessProbe;
    if (liveness !== undefined) {
      this.runProbe(liveness, this.liveness, now, (ok) => {
        if (ok || this.liveness.failures < (liveness.failureThreshold ?? 3)) return;
        this.deps.log(`container ${this.name} failed its liveness probe ${this.liveness.failures} times; restarting it`);
        this.liveness.failures = 0;
        void this.process?.stop((liveness.terminationGracePeriodSeconds ?? 30) * 1000);
      });
    }
  }

  private runProbe(probe: V1Probe, track: ProbeTrack, now: number, after: (ok: boolean) => void): void {
    if (track.inFlight || now < track.nextAt) return;
    track.inFlight = true;
    track.nextAt = now + this.capped(probe.periodSeconds ?? 10) * 1000;
    const startedAt = this.startedAt;
    void runProbe(probe, this.spec, this.deps.podIP()).then((result) => {
      track.inFlight = false;
      if (this.startedAt !== startedAt || this.phase !== 'running') return;
      if (result.ok) {
        track.successes++;
        track.failures = 0;
      } else {
        track.failures++;
        track.successes = 0;
      }
      after(result.ok);
    });
  }

  private capped(seconds: number): number {
    const cap = this.deps.probePeriodCapSeconds;
    return cap === undefined ? seconds : Math.min(seconds, cap);
  }

  /** Graceful stop for pod deletion: SIGTERM, SIGKILL after the grace period; no restart afterwards. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const process = this.process;
    if (process !== undefined) {
      await process.stop(graceMs);
    } else if (this.phase === 'running') {
      this.finished = { exitCode: 0, reason: 'Completed', finishedAt: new Date() };
      this.phase = 'terminated';
    }
    this.ready = false;
  }

  /**
   * A container-runtime crash: SIGKILL to the sandbox (its namespace dies with its first process).
   * The restart follows restartPolicy, not before `holdMs` (a node that stays down that long).
   */
  crash(holdMs = 0): boolean {
    const process = this.process;
    if (process === undefined) return false;
    this.nextStartAt = Date.now() + holdMs;
    this.deps.log(
      `container ${this.name} crashed on request (SIGKILL to the whole sandbox${holdMs > 0 ? `, restart held for ${holdMs} ms` : ''})`,
    );
    process.signal('SIGKILL');
    return true;
  }

  /** Ends a crash's hold (the node is back): the container restarts on the next sync. False when nothing was held. */
  release(): boolean {
    if (this.nextStartAt <= Date.now()) return false;
    this.nextStartAt = Date.now();
    this.deps.log(`container ${this.name} released: restarts now`);
    return true;
  }

  /** Host pid of the container's program (Patroni in a Spilo pod), undefined when it does not run. */
  get programPid(): number | undefined {
    return this.process?.initPid;
  }

  /** Resolves when the process (if any) has exited. */
  async exited(): Promise<void> {
    await this.process?.exited;
  }

  status(imageId: string, containerId: string): V1ContainerStatus {
    const state: V1ContainerState =
      this.phase === 'running'
        ? { running: { startedAt: this.startedAt as Date } }
        : this.phase === 'terminated'
          ? this.terminatedState()
          : { waiting: { reason: this.waiting.reason, ...(this.waiting.message === '' ? {} : { message: this.waiting.message }) } };
    const status: V1ContainerStatus = {
      name: this.name,
      image: this.spec.image ?? '',
      imageID: imageId,
      ready: this.isReady,
      restartCount: this.restartCount,
      started: this.phase === 'running',
      state,
    };
    if (this.everStarted) status.containerID = containerId;
    if (this.lastState !== undefined) status.lastState = this.lastState;
    return status;
  }

  private terminatedState(): V1ContainerState {
    const f = this.finished;
    if (f === undefined) return {};
    return {
      terminated: {
        exitCode: f.exitCode,
        reason: f.reason,
        startedAt: this.startedAt as Date,
        finishedAt: f.finishedAt,
        ...(f.signal === undefined ? {} : { signal: f.signal }),
      },
    };
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGABRT: 6,
    SIGKILL: 9,
    SIGSEGV: 11,
    SIGPIPE: 13,
    SIGTERM: 15,
  };
  return numbers[signal] ?? 0;
}
