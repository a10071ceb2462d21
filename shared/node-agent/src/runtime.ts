// What a container kind (Spilo, PgBouncer, simulated) contributes to a start: the sandbox to run, and
// optional upkeep while it runs. The pod worker owns the lifecycle (restarts, probes, status).
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { ServiceResolver } from './resolver.js';
import type { SandboxMount, SandboxProcess, SandboxSpec } from './sandbox.js';

export interface LaunchContext {
  readonly pod: V1Pod;
  readonly container: V1Container;
  /** The container environment as kubelet resolves it. */
  readonly env: Readonly<Record<string, string>>;
  readonly podIP: string;
  /** Host directory of the pod; it lives as long as the pod (like a container's writable layer). */
  readonly podDir: string;
  /** Host directory mounted at /run, emptied before every start (Spilo's RW_DIR is a fresh tmpfs). */
  readonly runDir: string;
  readonly logFile: string;
  /** The container's volumeMounts as bind mounts. */
  readonly volumeMounts: readonly SandboxMount[];
  readonly resolver: ServiceResolver;
  readonly log: (message: string) => void;
  /** Records a Kubernetes Event on the pod, as kubelet does for what it sees in a container. */
  readonly event: (event: PodEvent) => void;
  /** Sets (string) or removes (null) annotations on the pod, as Patroni writes its own with the pod's ServiceAccount. */
  readonly annotate: (annotations: Readonly<Record<string, string | null>>) => void;
}

export interface PodEvent {
  readonly type: 'Normal' | 'Warning';
  /** UpperCamelCase, e.g. WALArchiveFailing. */
  readonly reason: string;
  readonly message: string;
}

export interface Launch {
  readonly sandbox: SandboxSpec;
  /**
   * The environment `kubectl exec` gets: the container's (image ENV, the spec's, kubelet's), where the
   * process itself may run with less (runit's patroni service). Default: the sandbox's.
   */
  readonly execEnv?: Readonly<Record<string, string>>;
  /** Called on every agent tick while the process runs (PgBouncer follows its Service's ready pods). */
  readonly upkeep?: (process: SandboxProcess) => Promise<void>;
}

export interface ContainerRuntime {
  readonly kind: string;
  /** The sandbox to start; throws ContainerConfigError for problems the pod's author must fix. */
  launch(ctx: LaunchContext): Promise<Launch>;
}

/** Which runtime runs a container: Spilo, PgBouncer and logical-backup images by pattern, anything else is simulated. */
export interface ImagePatterns {
  readonly spilo: RegExp;
  readonly pgbouncer: RegExp;
  readonly logicalBackup: RegExp;
}

export const DEFAULT_IMAGE_PATTERNS: ImagePatterns = { spilo: /spilo/i, pgbouncer: /pgbouncer/i, logicalBackup: /logical-backup/i };

export type RuntimeKind = 'spilo' | 'pgbouncer' | 'logical-backup' | 'simulated';

export function runtimeKindOf(container: V1Container, patterns: ImagePatterns): RuntimeKind {
  const image = container.image ?? '';
  if (patterns.logicalBackup.test(image)) return 'logical-backup';
  if (patterns.spilo.test(image)) return 'spilo';
  if (patterns.pgbouncer.test(image)) return 'pgbouncer';
  return 'simulated';
}

/** The OS account Postgres, Patroni and PgBouncer run as (Postgres refuses to run as root). */
export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}
