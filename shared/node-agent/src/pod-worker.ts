// Everything kubelet does for one pod bound to this node: an address, volumes, containers with their
// lifecycle, truthful status, graceful termination, and a crash on request.
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1ContainerStatus, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { ContainerWorker, type BackoffSettings } from './container.js';
import type { ExecTarget } from './kubelet-exec.js';
import { ContainerConfigError, resolveContainerEnv, type EnvSources, type PodRuntimeFacts } from './env.js';
import { buildPodStatus, podPhase, statusFingerprint, type PodPhase } from './pod-status.js';
import { hostsFile, type ServiceResolver } from './resolver.js';
import {
  runtimeKindOf,
  type ContainerRuntime,
  type ImagePatterns,
  type LaunchContext,
  type PodEvent,
  type RuntimeKind,
} from './runtime.js';
import { containerMounts, prepareVolumes, refreshTokens, type PreparedVolume, type VolumeOwner, type VolumeSources } from './volumes.js';

/** Annotation whose new value makes the agent crash the pod (SIGKILL to every sandbox). */
export const CRASH_ANNOTATION = 'pgfn.dev/crash';
/** With CRASH_ANNOTATION: how long the restart is held back, in seconds (a node that stays down). */
export const CRASH_HOLD_ANNOTATION = 'pgfn.dev/crash-hold-seconds';

export interface PodWorkerDeps {
  readonly nodeName: string;
  readonly hostIP: string;
  readonly podDir: string;
  readonly logDir: string;
  readonly runtimes: Readonly<Record<Exclude<RuntimeKind, 'simulated'>, ContainerRuntime>>;
  readonly patterns: ImagePatterns;
  readonly envSources: (namespace: string) => EnvSources;
  readonly volumeSources: (pod: V1Pod) => VolumeSources;
  readonly serviceEnv: Readonly<Record<string, string>>;
  readonly resolver: ServiceResolver;
  readonly owner: VolumeOwner;
  readonly backoff: BackoffSettings;
  readonly probePeriodCapSeconds: number | undefined;
  readonly nodeCpu: number;
  readonly nodeMemoryBytes: number;
  readonly allocateIP: (preferred: string | undefined) => string;
  readonly patchStatus: (pod: V1Pod, status: V1PodStatus) => Promise<void>;
  readonly recordEvent: (pod: V1Pod, event: PodEvent) => Promise<void>;
  readonly annotatePod: (pod: V1Pod, annotations: Readonly<Record<string, string | null>>) => Promise<void>;
  readonly onProcess: (pgid: number, running: boolean) => void;
  readonly onExecTarget?: (podKey: string, container: string, target: ExecTarget | undefined) => void;
  readonly log: (message: string) => void;
}

export class PodWorker {
  private pod: V1Pod;
  private readonly containers: ContainerWorker[];
  private readonly initStatuses: V1ContainerStatus[];
  private volumes: Map<string, PreparedVolume> | undefined;
  private volumeError: string | undefined;
  private nextVolumeTry = 0;
  private podIP: string | undefined;
  private readonly startTime = new Date();
  private lastStatus = '';
  private patching = false;
  private terminating: Promise<void> | undefined;
  private lastCrashToken: string | undefined;
  private hosts = '';
  private nextHostsRefresh = 0;
  readonly key: string;

  constructor(
    pod: V1Pod,
    private readonly deps: PodWorkerDeps,
  ) {
    this.pod = pod;
    this.key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    this.lastCrashToken = pod.metadata?.annotations?.[CRASH_ANNOTATION];
    mkdirSync(deps.podDir, { recursive: true, mode: 0o755 });
    mkdirSync(deps.logDir, { recursive: true });
    const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
    this.containers = (pod.spec?.containers ?? []).map((spec) => {
      const kind = runtimeKindOf(spec, deps.patterns);
      return new ContainerWorker(spec, {
        podKey: this.key,
        runtime: kind === 'simulated' ? undefined : deps.runtimes[kind],
        context: () => this.launchContext(spec.name),
        restartPolicy,
        backoff: deps.backoff,
        probePeriodCapSeconds: deps.probePeriodCapSeconds,
        podIP: () => this.podIP ?? '',
        log: (m) => this.log(m),
        onProcess: deps.onProcess,
        onExecTarget: (container, target) => deps.onExecTarget?.(this.key, container, target),
      });
    });
    // Init containers are not run: they are reported as completed at once.
    this.initStatuses = (pod.spec?.initContainers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: 'pgfn://simulated',
      ready: true,
      restartCount: 0,
      started: false,
      state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: this.startTime, finishedAt: this.startTime } },
    }));
    for (const c of this.containers) {
      const kind = runtimeKindOf(c.spec, deps.patterns);
      this.log(`container ${c.name} (${c.spec.image}) runs as ${kind === 'simulated' ? 'a simulated container (no process)' : kind}`);
    }
  }

  get uid(): string {
    return this.pod.metadata?.uid ?? '';
  }

  get isTerminating(): boolean {
    return this.terminating !== undefined;
  }

  /** The newest pod object; a new crash token crashes the pod. */
  update(pod: V1Pod): void {
    this.pod = pod;
    const token = pod.metadata?.annotations?.[CRASH_ANNOTATION];
    if (token !== undefined && token !== this.lastCrashToken) {
      this.lastCrashToken = token;
      const hold = Number(pod.metadata?.annotations?.[CRASH_HOLD_ANNOTATION] ?? '0');
      this.crash(Number.isFinite(hold) ? hold * 1000 : 0);
    }
  }

  /** One kubelet sync: address, volumes, containers, token refresh, status. */
  async tick(): Promise<void> {
    if (this.terminating !== undefined) return;
    this.podIP ??= this.deps.allocateIP(this.pod.status?.podIP);
    await this.ensureVolumes();
    await this.refreshHosts();
    if (this.volumes !== undefined) {
      await Promise.all(this.containers.map((c) => c.tick()));
      await refreshTokens(this.volumes.values(), this.deps.volumeSources(this.pod)).catch((err: unknown) =>
        this.log(`token refresh: ${(err as Error).message}`),
      );
    }
    await this.reportStatus();
  }

  private async ensureVolumes(): Promise<void> {
    if (this.volumes !== undefined || Date.now() < this.nextVolumeTry) return;
    try {
      this.volumes = await prepareVolumes(this.pod, this.deps.podDir, {
        sources: this.deps.volumeSources(this.pod),
        facts: this.facts(),
        owner: this.deps.owner,
      });
      this.volumeError = undefined;
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.volumeError) this.log(`volumes not ready: ${message}`);
      this.volumeError = message;
      this.nextVolumeTry = Date.now() + 2_000;
    }
  }

  /** The pod's /etc/hosts: its own name and every Service's names (rewritten in place, it is bind-mounted). */
  private async refreshHosts(): Promise<void> {
    if (this.podIP === undefined || Date.now() < this.nextHostsRefresh) return;
    this.nextHostsRefresh = Date.now() + 5_000;
    const namespace = this.pod.metadata?.namespace ?? 'default';
    const services = await this.deps.resolver.clusterAddresses().catch(() => new Map<string, ReadonlyMap<string, string>>());
    const content = hostsFile({ podIP: this.podIP, podName: this.pod.metadata?.name ?? '', namespace, services });
    if (content === this.hosts) return;
    writeFileSync(join(this.deps.podDir, 'hosts'), content);
    this.hosts = content;
  }

  private facts(): PodRuntimeFacts {
    return { podIP: this.podIP ?? '', hostIP: this.deps.hostIP, nodeCpu: this.deps.nodeCpu, nodeMemoryBytes: this.deps.nodeMemoryBytes };
  }

  private async launchContext(containerName: string): Promise<LaunchContext> {
    const container = this.pod.spec?.containers.find((c) => c.name === containerName);
    if (container === undefined || this.volumes === undefined || this.podIP === undefined)
      throw new ContainerConfigError(`container ${containerName} is not ready to start`);
    const namespace = this.pod.metadata?.namespace ?? 'default';
    const env = await resolveContainerEnv(this.pod, container, {
      sources: this.deps.envSources(namespace),
      facts: this.facts(),
      serviceEnv: this.deps.serviceEnv,
    });
    const runDir = join(this.deps.podDir, `run-${containerName}`);
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(runDir, { recursive: true, mode: 0o755 });
    return {
      pod: this.pod,
      container,
      env,
      podIP: this.podIP,
      podDir: this.deps.podDir,
      runDir,
      logFile: join(this.deps.logDir, `${containerName}.log`),
      volumeMounts: [
        ...containerMounts(container, this.volumes),
        { kind: 'bind', source: join(this.deps.podDir, 'hosts'), target: '/etc/hosts', file: true },
      ],
      resolver: this.deps.resolver,
      log: (m) => this.log(`${containerName}: ${m}`),
      event: (e) => {
        this.log(`${containerName}: event ${e.type} ${e.reason}: ${e.message}`);
        this.deps.recordEvent(this.pod, e).catch((err: unknown) => this.log(`recording event ${e.reason}: ${(err as Error).message}`));
      },
      annotate: (annotations) => {
        this.deps.annotatePod(this.pod, annotations).catch((err: unknown) => this.log(`annotating pod: ${(err as Error).message}`));
      },
    };
  }

  currentStatus(): V1PodStatus {
    const phase: PodPhase =
      this.volumes === undefined
        ? 'Pending'
        : podPhase(this.containers.map((c) => ({ hasStarted: c.hasStarted, isDone: c.isDone, exitCode: c.exitCode })));
    const uid8 = this.uid.slice(0, 8);
    const containers = this.containers.map((c) => {
      const status = c.status(`pgfn://${runtimeKindOf(c.spec, this.deps.patterns)}`, `pgfn://${uid8}-${c.name}`);
      if (this.volumes === undefined && this.volumeError !== undefined && status.state?.waiting !== undefined) {
        status.state.waiting = { reason: 'ContainerCreating', message: this.volumeError };
      }
      return status;
    });
    return buildPodStatus({
      pod: this.pod,
      phase,
      podIP: this.podIP,
      hostIP: this.deps.hostIP,
      startTime: this.startTime,
      sandboxReady: this.volumes !== undefined,
      containers,
      initContainers: this.initStatuses,
      now: new Date(),
    });
  }

  private async reportStatus(force = false): Promise<void> {
    if (this.patching && !force) return;
    const status = this.currentStatus();
    const fingerprint = statusFingerprint({
      ...status,
      conditions: status.conditions?.map((c) => ({ ...c, lastTransitionTime: undefined })),
    });
    if (fingerprint === this.lastStatus && !force) return;
    this.patching = true;
    try {
      await this.deps.patchStatus(this.pod, status);
      this.lastStatus = fingerprint;
      // Keep transition times stable across patches.
      this.pod = { ...this.pod, status: { ...this.pod.status, conditions: status.conditions } };
    } catch (err) {
      this.log(`status update failed: ${(err as Error).message}`);
    } finally {
      this.patching = false;
    }
  }

  /** Graceful termination (pod deleted): SIGTERM to every container, SIGKILL after `graceMs`. */
  terminate(graceMs: number): Promise<void> {
    this.terminating ??= (async () => {
      this.log(`terminating with a grace period of ${Math.round(graceMs / 1000)} s`);
      await Promise.all(this.containers.map((c) => c.stop(graceMs)));
      await this.reportStatus(true);
    })();
    return this.terminating;
  }

  /** SIGKILL every sandbox of the pod; containers restart per restartPolicy, not before `holdMs`. */
  crash(holdMs = 0): number {
    let crashed = 0;
    for (const c of this.containers) if (c.crash(holdMs)) crashed++;
    this.log(`crash requested: ${crashed} container process(es) killed`);
    return crashed;
  }

  /** Ends the hold of a `crash`: held containers restart now; how many were held. */
  release(): number {
    return this.containers.filter((c) => c.release()).length;
  }

  /** Host pid of the first container's program, undefined when it does not run. */
  get programPid(): number | undefined {
    return this.containers[0]?.programPid;
  }

  /** Removes the pod's own directory (not its PersistentVolumes). */
  cleanup(): void {
    rmSync(this.deps.podDir, { recursive: true, force: true });
  }

  log(message: string): void {
    const line = `${new Date().toISOString()} ${message}\n`;
    try {
      appendFileSync(join(this.deps.logDir, 'events.log'), line);
    } catch {
      // As the agent's own log: a directory removed under a stopping agent loses the line, nothing more.
    }
    this.deps.log(`${this.key}: ${message}`);
  }
}
