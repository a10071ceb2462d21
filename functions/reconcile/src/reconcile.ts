import type { CoreV1Event, KubernetesObject, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND, POSTGRESQL_PLURAL, GROUP, VERSION, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { RetryableError, type Logger } from '@pgfn/fn-runtime';
import { refOf, statusCode, type KubeClient, type ObjectRef } from '@pgfn/kube';
import { FINALIZER, cleanUp, deletionRefusals, ensureFinalizer } from './deletion.js';
import type { LoadedConfig } from './operator-config.js';
import type { RoleSyncOutcome } from './role-sync.js';
import { planChanges, type CompareStatefulSet, type Plan } from './plan.js';
import { computeStatus, statusChanged, type ClusterStatus, type Observation, type PodSummary } from './status.js';

/** Upstream's pod annotation asking for a rotation; the rolling-update function acts on it. */
export const ROLLING_UPDATE_REQUIRED = 'zalando-postgres-operator-rolling-update-required';

/** The builder as reconcile uses it; wired to @pgfn/builder in main.ts, replaceable in tests. */
export interface BuilderPort {
  validate(cluster: Postgresql, config: OperatorConfig): readonly { path: string; message: string; severity?: string }[];
  build(inputs: BuildRequest): readonly KubernetesObject[];
  compareStatefulSet: CompareStatefulSet;
  /** Label selector matching every object of the cluster (Spilo and pooler alike). */
  objectSelector(cluster: Postgresql, config: OperatorConfig): string;
  /** Label selector matching the cluster's Spilo pods only. */
  podSelector(cluster: Postgresql, config: OperatorConfig): string;
  /** Keys (`Kind/namespace/name`) of the objects upstream deletes when they stop being desired. */
  prunableKeys(cluster: Postgresql, config: OperatorConfig): ReadonlySet<string>;
  /** The pod-template hash stored on a StatefulSet's template or on a pod. */
  podTemplateHash(obj: { metadata?: { annotations?: Record<string, string> } } | undefined): string | undefined;
}

export interface BuildRequest {
  readonly cluster: Postgresql;
  readonly config: OperatorConfig;
  readonly existingSecrets: ReadonlyMap<string, KubernetesObject>;
  readonly newPassword: () => string;
  readonly now: Date;
}

export interface ReconcileDeps {
  readonly kube: KubeClient;
  readonly builder: BuilderPort;
  readonly loadConfig: () => Promise<LoadedConfig>;
  readonly newPassword: () => string;
  readonly now: () => Date;
  /**
   * Syncs roles and databases on the master (`enable_database_access`); absent where no database
   * is reachable by design (tests of the Kubernetes side against kwok pods).
   */
  readonly syncRoles?: (cluster: Postgresql & KubernetesObject, config: OperatorConfig, pods: readonly V1Pod[], log: Logger) => Promise<RoleSyncOutcome>;
  /** Sends one of our CloudEvents to the Broker (a no-op when no sink is bound). */
  readonly emit: (type: string, subject: string, data: Record<string, unknown>) => Promise<void>;
}

export type ReconcileResult =
  | { readonly outcome: 'gone' }
  | { readonly outcome: 'deleted'; readonly objects: number }
  | { readonly outcome: 'delete-refused'; readonly reasons: readonly string[] }
  | { readonly outcome: 'invalid'; readonly errors: readonly string[] }
  | { readonly outcome: 'synced'; readonly writes: number; readonly unchanged: number; readonly status: string; readonly podsPendingRotation: number };

/** The kinds a cluster's own objects have; listed by the cluster's labels to see what exists. */
const OWNED_KINDS: readonly [string, string][] = [
  ['v1', 'Secret'], ['v1', 'Service'], ['v1', 'Endpoints'], ['policy/v1', 'PodDisruptionBudget'],
  ['apps/v1', 'StatefulSet'], ['apps/v1', 'Deployment'], ['batch/v1', 'CronJob'],
];

/**
 * One cluster, from whatever is true now: re-read the CR, validate, gather, build, apply what
 * changed, prune what is no longer desired, mark pods for rotation, write status. Safe to run twice,
 * late, or concurrently: every write is a server-side apply of the same desired state.
 */
export async function reconcileCluster(deps: ReconcileDeps, namespace: string, name: string, log: Logger): Promise<ReconcileResult> {
  const ref = { apiVersion: API_VERSION, kind: POSTGRESQL_KIND, namespace, name };
  let cluster = await deps.kube.get<Postgresql & KubernetesObject>(ref);
  if (cluster === undefined) return { outcome: 'gone' };
  const { config, problems } = await deps.loadConfig();
  if (problems.length > 0) log.warn({ problems }, 'operator configuration has bad values; using defaults for them');
  const subject = `${namespace}/${name}`;
  if (cluster.metadata?.deletionTimestamp !== undefined) return deleteCluster(deps, cluster, config, log);

  const invalid = deps.builder.validate(cluster, config).filter((e) => e.severity !== 'warning').map((e) => `${e.path}: ${e.message}`);
  if (invalid.length > 0) {
    const changed = await writeStatus(deps, cluster, { generation: cluster.metadata?.generation, invalid, creating: false, podsPendingRotation: 0 });
    if (changed) {
      await recordEvent(deps, cluster, 'Warning', 'InvalidSpec', `the manifest is invalid, nothing was changed: ${invalid.join('; ')}`);
      await deps.emit('dev.pgfn.cluster.invalid', subject, { namespace, name, errors: invalid });
    }
    log.info({ invalid }, 'invalid manifest; nothing touched');
    return { outcome: 'invalid', errors: invalid };
  }

  if (await ensureFinalizer(deps.kube, cluster)) {
    log.info({ finalizer: FINALIZER }, 'added finalizer');
    // Re-read so the status write below is guarded by the current resourceVersion.
    cluster = (await deps.kube.get<Postgresql & KubernetesObject>(ref)) ?? cluster;
  }
  const live = await listOwned(deps.kube, namespace, deps.builder.objectSelector(cluster, config));
  const liveSts = live.find((o) => o.kind === 'StatefulSet') as V1StatefulSet | undefined;
  let desired = buildDesired(deps, cluster, config, live);
  // Objects the selector cannot see (the shared postgres-pod ServiceAccount, Secrets a user made
  // before the cluster) are read by name, so they are adopted rather than blindly re-applied.
  const unseen = await readUnseen(deps.kube, desired, live);
  if (unseen.some((o) => o.kind === 'Secret')) desired = buildDesired(deps, cluster, config, [...live, ...unseen]);
  const prunable = deps.builder.prunableKeys(cluster, config);
  const plan = planChanges(desired, [...live, ...unseen], deps.builder.compareStatefulSet,
    (o) => o.kind !== 'Secret' || prunable.has(`${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`));

  let syncError: string | undefined;
  try {
    await execute(deps.kube, plan, log);
  } catch (err) {
    syncError = (err as Error).message;
    await writeStatus(deps, cluster, { generation: cluster.metadata?.generation, invalid: [], syncError, creating: liveSts === undefined, podsPendingRotation: 0 });
    await recordEvent(deps, cluster, 'Warning', 'SyncFailed', syncError);
    throw new RetryableError(`syncing ${subject}: ${syncError}`, { cause: err });
  }

  const desiredSts = desired.find((o) => o.kind === 'StatefulSet') as V1StatefulSet | undefined;
  const pending = await inspectPods(deps, namespace, deps.builder.podSelector(cluster, config), config.podRoleLabel || 'spilo-role',
    deps.builder.podTemplateHash(desiredSts?.spec?.template), log);
  if (pending.newlyMarked > 0 || plan.rollReasons.length > 0) {
    await deps.emit('dev.pgfn.rollingupdate.required', subject, { namespace, name, pods: pending.stale, reasons: plan.rollReasons });
  }
  let roles: RoleSyncOutcome | undefined;
  if (deps.syncRoles !== undefined && config.enableDatabaseAccess) {
    roles = await deps.syncRoles(cluster, config, pending.pods, log);
    if (roles.state === 'synced' && roles.statements > 0) await recordEvent(deps, cluster, 'Normal', 'RolesSynced', roles.message);
    if (roles.state === 'failed') await recordEvent(deps, cluster, 'Warning', 'RoleSyncFailed', roles.message);
  }
  const stsNow = plan.steps.length === 0 ? liveSts
    : await deps.kube.get<V1StatefulSet>({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace, name: desiredSts?.metadata?.name ?? name });
  const obs: Observation = { generation: cluster.metadata?.generation, invalid: [], creating: liveSts === undefined, statefulSet: stsNow, pods: pending.summary, podsPendingRotation: pending.stale.length,
    ...(roles === undefined ? {} : { roles: { state: roles.state, message: roles.message } }) };
  const before = cluster.status?.PostgresClusterStatus;
  await writeStatus(deps, cluster, obs);
  const status = computeStatus(obs, undefined, deps.now()).PostgresClusterStatus;
  for (const step of plan.steps) await recordEvent(deps, cluster, 'Normal', STEP_REASON[step.op], describeStep(step));
  if (status === 'Running' && before !== 'Running') await deps.emit('dev.pgfn.cluster.ready', subject, { namespace, name });
  log.info({ writes: plan.steps.length, unchanged: plan.unchanged, status, steps: plan.steps.map(describeStep) }, 'reconciled');
  return { outcome: 'synced', writes: plan.steps.length, unchanged: plan.unchanged, status, podsPendingRotation: pending.stale.length };
}

const STEP_REASON = { apply: 'Applied', replace: 'Replaced', delete: 'Deleted' } as const;

/** The CR is being deleted: refuse per delete protection, or remove everything and release it. */
async function deleteCluster(deps: ReconcileDeps, cluster: Postgresql & KubernetesObject, config: OperatorConfig, log: Logger): Promise<ReconcileResult> {
  if (!(cluster.metadata?.finalizers ?? []).includes(FINALIZER)) return { outcome: 'gone' };
  const namespace = cluster.metadata?.namespace ?? '';
  const name = cluster.metadata?.name ?? '';
  const reasons = deletionRefusals(cluster, config, deps.now());
  if (reasons.length > 0) {
    await recordEvent(deps, cluster, 'Warning', 'DeleteRefused', `deletion refused, every object is kept: ${reasons.join('; ')}`);
    log.warn({ reasons }, 'deletion refused by delete protection');
    return { outcome: 'delete-refused', reasons };
  }
  const objects = await cleanUp(deps.kube, cluster, config, deps.builder.objectSelector(cluster, config));
  await deps.emit('dev.pgfn.cluster.deleted', `${namespace}/${name}`, { namespace, name, objects });
  log.info({ objects }, 'cluster deleted');
  return { outcome: 'deleted', objects };
}

function buildDesired(deps: ReconcileDeps, cluster: Postgresql, config: OperatorConfig, known: readonly KubernetesObject[]): readonly KubernetesObject[] {
  const existingSecrets = new Map(known.filter((o) => o.kind === 'Secret').map((o) => [o.metadata?.name ?? '', o]));
  return deps.builder.build({ cluster, config, existingSecrets, newPassword: deps.newPassword, now: deps.now() });
}

async function listOwned(kube: KubeClient, namespace: string, selector: string): Promise<KubernetesObject[]> {
  const lists = await Promise.all(OWNED_KINDS.map(async ([apiVersion, kind]) =>
    (await kube.list(apiVersion, kind, namespace, selector)).map((o) => ({ ...o, apiVersion, kind }))));
  return lists.flat();
}

async function readUnseen(kube: KubeClient, desired: readonly KubernetesObject[], live: readonly KubernetesObject[]): Promise<KubernetesObject[]> {
  const seen = new Set(live.map((o) => `${o.kind}/${o.metadata?.name}`));
  const missing = desired.filter((o) => !seen.has(`${o.kind}/${o.metadata?.name}`));
  const found: KubernetesObject[] = [];
  for (const o of missing) {
    const got = await kube.get(refOf(o));
    if (got !== undefined) found.push({ ...got, apiVersion: o.apiVersion, kind: o.kind });
  }
  return found;
}

async function execute(kube: KubeClient, plan: Plan, log: Logger): Promise<void> {
  for (const step of plan.steps) {
    log.info({ step: describeStep(step) }, 'writing');
    if (step.op === 'apply') await kube.apply(step.object);
    else if (step.op === 'delete') await kube.delete(step.ref);
    else await replace(kube, step.object);
  }
}

/** A change Kubernetes cannot make in place: delete with orphan propagation (pods keep running), recreate. */
async function replace(kube: KubeClient, object: KubernetesObject): Promise<void> {
  const ref = refOf(object);
  await kube.delete(ref, 'Orphan');
  const deadline = Date.now() + 60_000;
  while ((await kube.get(ref)) !== undefined) {
    if (Date.now() > deadline) throw new Error(`${ref.kind} ${ref.name} still exists 60 s after its orphaning delete`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await kube.apply(object);
}

interface PodsSeen {
  readonly pods: readonly V1Pod[];
  readonly stale: string[];
  readonly newlyMarked: number;
  readonly summary: PodSummary;
}

/**
 * Lists the Spilo pods once: marks those whose template hash differs from the desired one (so the
 * rotation survives a lost event), and counts roles as Patroni labelled them, for PodsReady.
 */
async function inspectPods(deps: ReconcileDeps, namespace: string, selector: string, roleLabel: string, desiredHash: string | undefined, log: Logger): Promise<PodsSeen> {
  const pods = (await deps.kube.list<V1Pod>('v1', 'Pod', namespace, selector)).filter((p) => p.metadata?.deletionTimestamp === undefined);
  const summary = summarisePods(pods, roleLabel);
  if (desiredHash === undefined) return { pods, stale: [], newlyMarked: 0, summary };
  const stale = pods.filter((p) => deps.builder.podTemplateHash(p) !== desiredHash);
  let newlyMarked = 0;
  for (const pod of stale) {
    if (pod.metadata?.annotations?.[ROLLING_UPDATE_REQUIRED] === 'true') continue;
    const ref: ObjectRef = { apiVersion: 'v1', kind: 'Pod', namespace, name: pod.metadata?.name ?? '' };
    await deps.kube.patchMetadata(ref, { annotations: { [ROLLING_UPDATE_REQUIRED]: 'true' } });
    newlyMarked++;
  }
  if (newlyMarked > 0) log.info({ pods: stale.map((p) => p.metadata?.name) }, 'marked pods for rotation');
  return { pods, stale: stale.map((p) => p.metadata?.name ?? '').sort(), newlyMarked, summary };
}

export function summarisePods(pods: readonly V1Pod[], roleLabel: string): PodSummary {
  const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);
  const role = (p: V1Pod): string | undefined => p.metadata?.labels?.[roleLabel];
  return {
    total: pods.length,
    ready: ready.length,
    masters: pods.filter((p) => role(p) === 'master').length,
    replicas: pods.filter((p) => role(p) === 'replica').length,
  };
}

/**
 * Writes status only when it changes; returns whether it did. Guarded by resourceVersion: if the CR
 * changed meanwhile, a changed spec means a newer reconcile owns the status (skip), while a status
 * written by another function (its own condition) is merged by recomputing once from the fresh read.
 */
async function writeStatus(deps: ReconcileDeps, cluster: Postgresql & KubernetesObject, obs: Observation): Promise<boolean> {
  let current = cluster;
  for (let attempt = 1; ; attempt++) {
    const previous = current.status as Partial<ClusterStatus> | undefined;
    const next = computeStatus(obs, previous, deps.now());
    if (!statusChanged(previous, next)) return false;
    try {
      await deps.kube.patchCustomStatus(GROUP, VERSION, POSTGRESQL_PLURAL, current.metadata?.namespace ?? '', current.metadata?.name ?? '', next,
        current.metadata?.resourceVersion);
      return true;
    } catch (err) {
      if (statusCode(err) !== 409 || attempt >= 3) throw err;
      const fresh = await deps.kube.get<Postgresql & KubernetesObject>(refOf(current));
      if (fresh === undefined || fresh.metadata?.generation !== current.metadata?.generation) return false;
      current = fresh;
    }
  }
}

async function recordEvent(deps: ReconcileDeps, cluster: Postgresql & KubernetesObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
  const now = deps.now();
  const event: CoreV1Event = {
    metadata: { generateName: `${cluster.metadata?.name ?? 'cluster'}.`, namespace: cluster.metadata?.namespace },
    involvedObject: { apiVersion: API_VERSION, kind: POSTGRESQL_KIND, name: cluster.metadata?.name, namespace: cluster.metadata?.namespace, uid: cluster.metadata?.uid },
    type, reason, message: message.slice(0, 1024),
    firstTimestamp: now, lastTimestamp: now, count: 1,
    source: { component: 'pgfn-reconcile' },
  };
  await deps.kube.createEvent(event);
}

function describeStep(s: Plan['steps'][number]): string {
  const ref = s.op === 'delete' ? s.ref : refOf(s.object);
  return `${s.op} ${ref.kind}/${ref.name} (${s.reason})`;
}

