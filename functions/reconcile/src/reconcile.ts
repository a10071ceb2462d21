import type { CoreV1Event, KubernetesObject, V1Pod, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND, POSTGRESQL_PLURAL, GROUP, VERSION, type OperatorConfig, type Postgresql } from '@pgfn/api';
import type { BuildInputs } from '@pgfn/builder';
import { RetryableError, type Logger } from '@pgfn/fn-runtime';
import { refOf, statusCode, type KubeClient, type ObjectRef } from '@pgfn/kube';
import { appliedHashOf, withAppliedHash } from './applied-hash.js';
import type { Settled } from './batcher.js';
import { readBuildSources, type BuildSources } from './build-sources.js';
import { FINALIZER, cleanUp, deletionRefusals, ensureFinalizer } from './deletion.js';
import type { Mode } from './events.js';
import { isListedKind, matchesSelector, readClusters, readLive, type Cluster, type LiveState } from './live-state.js';
import { metadataHash } from './metadata-hash.js';
import type { LoadedConfig } from './operator-config.js';
import type { RoleSyncOutcome } from './role-sync.js';
import { planChanges, type CompareStatefulSet, type Plan, type Step } from './plan.js';
import { SharedObjects } from './shared-objects.js';
import { computeStatus, statusChanged, type ClusterStatus, type Observation, type PodSummary } from './status.js';

/** Upstream's pod annotation asking for a rotation; the rolling-update function acts on it. */
export const ROLLING_UPDATE_REQUIRED = 'zalando-postgres-operator-rolling-update-required';

/** The builder as reconcile uses it; wired to @pgfn/builder in main.ts, replaceable in tests. */
export interface BuilderPort {
  validate(cluster: Postgresql, config: OperatorConfig): readonly { path: string; message: string; severity?: string }[];
  build(inputs: BuildInputs): Built;
  compareStatefulSet: CompareStatefulSet;
  /** Label selector matching every object of the cluster (Spilo and pooler alike). */
  objectSelector(cluster: Postgresql, config: OperatorConfig): string;
  /** The label every object of a cluster carries, and its value for this cluster. */
  clusterLabel(cluster: Postgresql, config: OperatorConfig): readonly [key: string, value: string];
  /** Label selector matching the cluster's Spilo pods only. */
  podSelector(cluster: Postgresql, config: OperatorConfig): string;
  /** Label selector matching the cluster's pooler pods (every role). */
  poolerPodSelector(cluster: Postgresql, config: OperatorConfig): string;
  /** Keys (`Kind/namespace/name`) of the objects upstream deletes when they stop being desired. */
  prunableKeys(cluster: Postgresql, config: OperatorConfig): ReadonlySet<string>;
  /** The pod-template hash stored on a StatefulSet's template or on a pod. */
  podTemplateHash(obj: { metadata?: { annotations?: Record<string, string> } } | undefined): string | undefined;
}

export interface Built {
  readonly objects: readonly KubernetesObject[];
  /**
   * Why every Spilo pod must be restarted although its template did not change: an existing system
   * user's password was rotated in place or reset by this build, and Spilo reads it from env.
   */
  readonly podRotationReasons: readonly string[];
  /** Why the pooler's pods must be replaced: its user's password was rotated in place by this build. */
  readonly poolerPodRotationReasons: readonly string[];
}

export interface ReconcileDeps {
  readonly kube: KubeClient;
  readonly builder: BuilderPort;
  /** The operator configuration, at most `maxAgeMs` old (0 or absent: read now). */
  readonly loadConfig: (maxAgeMs?: number) => Promise<LoadedConfig>;
  readonly newPassword: () => string;
  readonly now: () => Date;
  /**
   * Syncs roles and databases on the master (`enable_database_access`); absent where no database
   * is reachable by design (tests of the Kubernetes side against kwok pods).
   */
  readonly syncRoles?: (cluster: Postgresql & KubernetesObject, config: OperatorConfig, pods: readonly V1Pod[], log: Logger) => Promise<RoleSyncOutcome>;
  /** Sends one of our CloudEvents to the Broker (a no-op when no sink is bound). */
  readonly emit: (type: string, subject: string, data: Record<string, unknown>) => Promise<void>;
  /** Clusters of one batch worked on at once. */
  readonly clusterConcurrency?: number;
  /** Told how many clusters a namespace holds whenever a batch lists them (sizes the batch windows). */
  readonly onNamespaceSize?: (namespace: string, clusters: number) => void;
}

export type ReconcileResult =
  | { readonly outcome: 'gone' }
  | { readonly outcome: 'deleted'; readonly objects: number }
  | { readonly outcome: 'delete-refused'; readonly reasons: readonly string[] }
  | { readonly outcome: 'invalid'; readonly errors: readonly string[] }
  | { readonly outcome: 'synced'; readonly writes: number; readonly unchanged: number; readonly status: string; readonly podsPendingRotation: number }
  | { readonly outcome: 'observed'; readonly status: string; readonly statusWritten: boolean };

/** A status-only batch may use a configuration read this recently (full reconciles always re-read). */
const OBSERVE_CONFIG_MAX_AGE_MS = 10_000;

/** One cluster in full, as a batch of one (tests, and callers outside the batcher). */
export async function reconcileCluster(deps: ReconcileDeps, namespace: string, name: string, log: Logger): Promise<ReconcileResult> {
  const outcome = (await reconcileBatch(deps, namespace, new Map([[name, 'full']]), log)).get(name);
  if (outcome === undefined) throw new Error(`cluster ${namespace}/${name} was not processed`);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/**
 * The clusters of one namespace that events named, from whatever is true now (ADR 0009): read the
 * configuration and the clusters, list each kind once for all of them, then per cluster either the
 * full reconcile (validate, build, apply what changed, prune, mark pods, sync roles, status) or,
 * when only its pods moved, a status refresh. Safe to run twice, late, or concurrently: every write
 * is a server-side apply of the same desired state or guarded by resourceVersion. A failure of one
 * cluster is that cluster's outcome; the others go on.
 */
export async function reconcileBatch(deps: ReconcileDeps, namespace: string, entries: ReadonlyMap<string, Mode>, log: Logger): Promise<Map<string, Settled<ReconcileResult>>> {
  const results = new Map<string, Settled<ReconcileResult>>();
  const onlyObserve = [...entries.values()].every((m) => m === 'observe');
  const { config, problems } = await deps.loadConfig(onlyObserve ? OBSERVE_CONFIG_MAX_AGE_MS : 0);
  if (problems.length > 0) log.warn({ problems }, 'operator configuration has bad values; using defaults for them');
  const { clusters, inNamespace } = await readClusters(deps.kube, namespace, [...entries.keys()]);
  if (inNamespace !== undefined) deps.onNamespaceSize?.(namespace, inNamespace);

  const observed: Cluster[] = [];
  const valid: Cluster[] = [];
  for (const [name, mode] of entries) {
    const cluster = clusters.get(name);
    if (cluster === undefined) {
      results.set(name, { ok: true, value: { outcome: 'gone' } });
      continue;
    }
    if (mode !== 'full' && !needsFullReconcile(deps, cluster, config)) {
      observed.push(cluster);
      continue;
    }
    const clog = log.child({ namespace, cluster: name });
    await settle(results, name, async () => {
      if (cluster.metadata?.deletionTimestamp !== undefined) return deleteCluster(deps, cluster, config, clog);
      const invalid = deps.builder.validate(cluster, config).filter((e) => e.severity !== 'warning').map((e) => `${e.path}: ${e.message}`);
      if (invalid.length > 0) return markInvalid(deps, cluster, invalid, clog);
      const withFinalizer = await ensureFinalizer(deps.kube, cluster);
      if (withFinalizer !== cluster) clog.info({ finalizer: FINALIZER }, 'added finalizer');
      valid.push(withFinalizer);
      return undefined;
    });
  }
  if (valid.length === 0 && observed.length === 0) return results;

  const labelKey = deps.builder.clusterLabel(clusters.values().next().value as Cluster, config)[0];
  const value = (c: Cluster): string => deps.builder.clusterLabel(c, config)[1];
  const [live, sources] = await Promise.all([
    readLive(deps.kube, namespace, labelKey, valid.map(value), observed.map(value)),
    valid.length === 0 ? {} : readBuildSources(deps.kube, namespace, config).catch((err: unknown) => err as Error),
  ]);
  const shared = new SharedObjects(deps.kube);
  const escalate: Cluster[] = [];
  await forEachLimited(valid, deps.clusterConcurrency ?? 8, (c) =>
    settle(results, c.metadata?.name ?? '', () => syncCluster(deps, c, { config, sources }, live, shared, log.child({ namespace, cluster: c.metadata?.name }))));
  await forEachLimited(observed, deps.clusterConcurrency ?? 8, async (c) => {
    if (!live.statefulSets.has(value(c))) {
      escalate.push(c); // its StatefulSet is gone: rebuild, below
      return;
    }
    await settle(results, c.metadata?.name ?? '', () => observeCluster(deps, c, config, live, log.child({ namespace, cluster: c.metadata?.name })));
  });
  if (escalate.length > 0) {
    const again = await reconcileBatch(deps, namespace, new Map(escalate.map((c) => [c.metadata?.name ?? '', 'full' as const])), log);
    for (const [name, outcome] of again) results.set(name, outcome);
  }
  return results;
}

/**
 * A pod event suffices for a status refresh only when the last full reconcile saw this spec and
 * metadata and succeeded, and no role sync is still waiting for a master.
 */
function needsFullReconcile(deps: ReconcileDeps, cluster: Cluster, config: OperatorConfig): boolean {
  const m = cluster.metadata;
  const status = cluster.status;
  const condition = (type: string): string | undefined => status?.conditions?.find((c) => c.type === type)?.status;
  return m?.deletionTimestamp !== undefined || !(m?.finalizers ?? []).includes(FINALIZER)
    || status?.observedGeneration !== m?.generation || status?.observedMetadataHash !== metadataHash(m)
    || condition('Valid') !== 'True' || condition('Synced') !== 'True'
    || (deps.syncRoles !== undefined && config.enableDatabaseAccess && condition('RolesSynced') !== 'True');
}

/** Build, apply what changed, prune, mark pods, sync roles, write status: one cluster, its objects read by the batch. */
async function syncCluster(deps: ReconcileDeps, cluster: Cluster, inputs: { config: OperatorConfig; sources: BuildSources | Error }, live: LiveState, shared: SharedObjects, log: Logger): Promise<ReconcileResult> {
  const { config } = inputs;
  const namespace = cluster.metadata?.namespace ?? '';
  const name = cluster.metadata?.name ?? '';
  const subject = `${namespace}/${name}`;
  const value = deps.builder.clusterLabel(cluster, config)[1];
  const owned = live.owned.get(value) ?? [];
  const liveSts = live.statefulSets.get(value);
  const creating = liveSts === undefined || isStillCreating(cluster);
  const ctx: ExecutionContext = { cluster, config, sources: inputs.sources instanceof Error ? {} : inputs.sources, owned, shared };

  let built: Built;
  let plan: Plan;
  let applied: Applied;
  try {
    if (inputs.sources instanceof Error) throw inputs.sources;
    built = buildDesired(deps, ctx, owned);
    const unlisted = await shared.read(built.objects.filter((o) => !isListedKind(o.kind)));
    const prunable = deps.builder.prunableKeys(cluster, config);
    plan = planChanges(built.objects, [...owned, ...unlisted], deps.builder.compareStatefulSet,
      (o) => o.kind !== 'Secret' || prunable.has(`${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`));
    applied = await execute(deps, plan, ctx, log);
  } catch (err) {
    // Whatever stopped the sync (an object the configuration names is missing, a write refused) is
    // told on the status and as an Event; the Broker retries the delivery.
    const syncError = (err as Error).message;
    await writeStatus(deps, cluster, { generation: cluster.metadata?.generation, metadataHash: metadataHash(cluster.metadata), invalid: [], syncError, creating, podsPendingRotation: 0 });
    await recordEvent(deps, cluster, 'Warning', 'SyncFailed', syncError);
    throw new RetryableError(`syncing ${subject}: ${syncError}`, { cause: err });
  }
  const desired = built.objects;

  const desiredSts = desired.find((o) => o.kind === 'StatefulSet') as V1StatefulSet | undefined;
  const pods = podsOf(deps, cluster, config, live);
  // Marked only after the Secrets are written: a restarted pod must find the new password.
  const pending = await markPods(deps, namespace, pods, config.podRoleLabel || 'spilo-role', deps.builder.podTemplateHash(desiredSts?.spec?.template),
    built.podRotationReasons, log);
  const rollReasons = [...plan.rollReasons, ...built.podRotationReasons];
  await replacePoolerPods(deps, cluster, config, live, built.poolerPodRotationReasons, log);
  if (pending.newlyMarked > 0 || rollReasons.length > 0) {
    await deps.emit('dev.pgfn.rollingupdate.required', subject, { namespace, name, pods: pending.stale, reasons: rollReasons });
  }
  let roles: RoleSyncOutcome | undefined;
  if (deps.syncRoles !== undefined && config.enableDatabaseAccess) {
    roles = await deps.syncRoles(cluster, config, pods, log);
    if (roles.state === 'synced' && roles.statements > 0) await recordEvent(deps, cluster, 'Normal', 'RolesSynced', roles.message);
    if (roles.state === 'failed') await recordEvent(deps, cluster, 'Warning', 'RoleSyncFailed', roles.message);
  }
  const obs: Observation = {
    generation: cluster.metadata?.generation, metadataHash: metadataHash(cluster.metadata), invalid: [], creating,
    statefulSet: applied.statefulSet ?? liveSts, pods: pending.summary, podsPendingRotation: pending.stale.length,
    ...(roles === undefined ? {} : { roles: { state: roles.state, message: roles.message } }),
  };
  const { status } = await updateStatus(deps, cluster, obs);
  await recordSteps(deps, cluster, plan.steps, creating && liveSts === undefined);
  log.info({ writes: plan.steps.length, unchanged: plan.unchanged, status, steps: plan.steps.map(describeStep) }, 'reconciled');
  return { outcome: 'synced', writes: plan.steps.length, unchanged: plan.unchanged, status, podsPendingRotation: pending.stale.length };
}

/** Pods or the StatefulSet moved: recompute the status from them alone, write it if it changed. */
async function observeCluster(deps: ReconcileDeps, cluster: Cluster, config: OperatorConfig, live: LiveState, log: Logger): Promise<ReconcileResult> {
  const sts = live.statefulSets.get(deps.builder.clusterLabel(cluster, config)[1]);
  const pods = podsOf(deps, cluster, config, live);
  // A pod the StatefulSet controller made from the old template after the last full reconcile listed
  // pods is marked here, so its rotation does not wait for the resync.
  const pending = await markPods(deps, cluster.metadata?.namespace ?? '', pods, config.podRoleLabel || 'spilo-role',
    deps.builder.podTemplateHash(sts?.spec?.template), [], log);
  if (pending.newlyMarked > 0) {
    const namespace = cluster.metadata?.namespace ?? '';
    const name = cluster.metadata?.name ?? '';
    await deps.emit('dev.pgfn.rollingupdate.required', `${namespace}/${name}`, { namespace, name, pods: pending.stale, reasons: ['pods made from an outdated template'] });
  }
  const obs: Observation = {
    generation: cluster.metadata?.generation, metadataHash: metadataHash(cluster.metadata), invalid: [], creating: isStillCreating(cluster),
    statefulSet: sts, pods: pending.summary, podsPendingRotation: pending.stale.length,
  };
  const { status, written } = await updateStatus(deps, cluster, obs);
  if (written) log.info({ status }, 'status refreshed');
  return { outcome: 'observed', status, statusWritten: written };
}

/** The status string was Creating (or CreateFailed) and the cluster never ran: it is still being created. */
function isStillCreating(cluster: Cluster): boolean {
  const s = cluster.status?.PostgresClusterStatus;
  return s === undefined || s === '' || s === 'Creating' || s === 'CreateFailed';
}

function podsOf(deps: ReconcileDeps, cluster: Cluster, config: OperatorConfig, live: LiveState): readonly V1Pod[] {
  const selector = deps.builder.podSelector(cluster, config);
  return (live.pods.get(deps.builder.clusterLabel(cluster, config)[1]) ?? []).filter((p) => matchesSelector(p.metadata?.labels, selector));
}

/** Writes status when it changed; emits cluster.ready on the way to Running. */
async function updateStatus(deps: ReconcileDeps, cluster: Cluster, obs: Observation): Promise<{ status: string; written: boolean }> {
  const before = cluster.status?.PostgresClusterStatus;
  const written = await writeStatus(deps, cluster, obs);
  const status = computeStatus(obs, undefined, deps.now()).PostgresClusterStatus;
  if (status === 'Running' && before !== 'Running') {
    const namespace = cluster.metadata?.namespace ?? '';
    const name = cluster.metadata?.name ?? '';
    await deps.emit('dev.pgfn.cluster.ready', `${namespace}/${name}`, { namespace, name });
  }
  return { status, written };
}

async function markInvalid(deps: ReconcileDeps, cluster: Cluster, invalid: readonly string[], log: Logger): Promise<ReconcileResult> {
  const namespace = cluster.metadata?.namespace ?? '';
  const name = cluster.metadata?.name ?? '';
  const changed = await writeStatus(deps, cluster, { generation: cluster.metadata?.generation, metadataHash: metadataHash(cluster.metadata), invalid, creating: false, podsPendingRotation: 0 });
  if (changed) {
    await recordEvent(deps, cluster, 'Warning', 'InvalidSpec', `the manifest is invalid, nothing was changed: ${invalid.join('; ')}`);
    await deps.emit('dev.pgfn.cluster.invalid', `${namespace}/${name}`, { namespace, name, errors: invalid });
  }
  log.info({ invalid }, 'invalid manifest; nothing touched');
  return { outcome: 'invalid', errors: invalid };
}

/** The CR is being deleted: refuse per delete protection, or remove everything and release it. */
async function deleteCluster(deps: ReconcileDeps, cluster: Cluster, config: OperatorConfig, log: Logger): Promise<ReconcileResult> {
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

function buildDesired(deps: ReconcileDeps, ctx: Pick<ExecutionContext, 'cluster' | 'config' | 'sources'>, known: readonly KubernetesObject[]): Built {
  const existingSecrets = new Map(known.filter((o) => o.kind === 'Secret').map((o) => [o.metadata?.name ?? '', o as V1Secret]));
  return deps.builder.build({ cluster: ctx.cluster, config: ctx.config, existingSecrets, newPassword: deps.newPassword, now: deps.now(), ...ctx.sources });
}

interface Applied {
  readonly statefulSet?: V1StatefulSet;
}

interface ExecutionContext {
  readonly cluster: Cluster;
  readonly config: OperatorConfig;
  readonly sources: BuildSources;
  readonly owned: readonly KubernetesObject[];
  readonly shared: SharedObjects;
}

async function execute(deps: ReconcileDeps, plan: Plan, ctx: ExecutionContext, log: Logger): Promise<Applied> {
  let statefulSet: V1StatefulSet | undefined;
  for (const step of plan.steps) {
    log.debug({ step: describeStep(step) }, 'writing');
    if (step.op === 'delete') await deps.kube.delete(step.ref);
    else if (step.op === 'replace') statefulSet = await replace(deps.kube, step.object) as V1StatefulSet;
    else if (!isListedKind(step.object.kind)) await ctx.shared.apply(step.object);
    else if (step.object.kind === 'Secret' && step.reason === 'missing') await createSecret(deps, step.object, ctx);
    else {
      const written = await deps.kube.apply(step.object);
      if (written.kind === 'StatefulSet' || step.object.kind === 'StatefulSet') statefulSet = written as V1StatefulSet;
    }
  }
  return statefulSet === undefined ? {} : { statefulSet };
}

/**
 * A new credential Secret is created, never applied: if one of that name appeared meanwhile (made by
 * a user before the cluster, or by a racing reconcile), its password wins and only our labels and
 * annotations are added to it.
 */
async function createSecret(deps: ReconcileDeps, secret: KubernetesObject, ctx: ExecutionContext): Promise<void> {
  if (await deps.kube.create(secret) !== undefined) return;
  const existing = await deps.kube.get<V1Secret>(refOf(secret));
  if (existing === undefined) throw new Error(`Secret ${secret.metadata?.name ?? ''} was neither creatable nor readable; retrying`);
  const rebuilt = buildDesired(deps, ctx, [...ctx.owned, { ...existing, apiVersion: 'v1', kind: 'Secret' }]).objects
    .find((o) => o.kind === 'Secret' && o.metadata?.name === secret.metadata?.name);
  if (rebuilt === undefined) return;
  const want = withAppliedHash(rebuilt);
  if (appliedHashOf(existing) !== appliedHashOf(want)) await deps.kube.apply(want);
}

/** A change Kubernetes cannot make in place: delete with orphan propagation (pods keep running), recreate. */
async function replace(kube: KubeClient, object: KubernetesObject): Promise<KubernetesObject> {
  const ref = refOf(object);
  await kube.delete(ref, 'Orphan');
  const deadline = Date.now() + 60_000;
  while ((await kube.get(ref)) !== undefined) {
    if (Date.now() > deadline) throw new Error(`${ref.kind} ${ref.name} still exists 60 s after its orphaning delete`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return kube.apply(object);
}

interface PodsSeen {
  readonly stale: string[];
  readonly newlyMarked: number;
  readonly summary: PodSummary;
}

/**
 * Marks the pods whose template hash differs from the desired one, or every pod when a system
 * user's password changed (so the rotation survives a lost event), and counts roles as Patroni
 * labelled them, for PodsReady. A pod carrying the mark counts as pending until it is replaced.
 */
async function markPods(deps: ReconcileDeps, namespace: string, pods: readonly V1Pod[], roleLabel: string, desiredHash: string | undefined,
  passwordReasons: readonly string[], log: Logger): Promise<PodsSeen> {
  const summary = summarisePods(pods, roleLabel);
  const stale = pods.filter((p) => passwordReasons.length > 0 || isMarked(p) || (desiredHash !== undefined && deps.builder.podTemplateHash(p) !== desiredHash));
  let newlyMarked = 0;
  for (const pod of stale) {
    if (isMarked(pod)) continue;
    const ref: ObjectRef = { apiVersion: 'v1', kind: 'Pod', namespace, name: pod.metadata?.name ?? '' };
    await deps.kube.patchMetadata(ref, { annotations: { [ROLLING_UPDATE_REQUIRED]: 'true' } });
    newlyMarked++;
  }
  if (newlyMarked > 0) log.info({ pods: stale.map((p) => p.metadata?.name), ...(passwordReasons.length > 0 ? { reasons: passwordReasons } : {}) }, 'marked pods for rotation');
  return { stale: stale.map((p) => p.metadata?.name ?? '').sort(), newlyMarked, summary };
}

/**
 * The pooler reads its user's password at start, so after an in-place rotation its pods are marked
 * and then deleted (its Deployment starts new ones), as upstream does. Marked pods left behind by an
 * interrupted run are deleted by the next one.
 */
async function replacePoolerPods(deps: ReconcileDeps, cluster: Cluster, config: OperatorConfig, live: LiveState, reasons: readonly string[], log: Logger): Promise<void> {
  const selector = deps.builder.poolerPodSelector(cluster, config);
  const pods = (live.pods.get(deps.builder.clusterLabel(cluster, config)[1]) ?? []).filter((p) => matchesSelector(p.metadata?.labels, selector));
  const doomed = pods.filter((p) => reasons.length > 0 || isMarked(p));
  if (doomed.length === 0) return;
  const namespace = cluster.metadata?.namespace ?? '';
  for (const pod of doomed) {
    const ref: ObjectRef = { apiVersion: 'v1', kind: 'Pod', namespace, name: pod.metadata?.name ?? '' };
    if (!isMarked(pod)) await deps.kube.patchMetadata(ref, { annotations: { [ROLLING_UPDATE_REQUIRED]: 'true' } });
  }
  for (const pod of doomed) await deps.kube.delete({ apiVersion: 'v1', kind: 'Pod', namespace, name: pod.metadata?.name ?? '' });
  const names = doomed.map((p) => p.metadata?.name ?? '').sort();
  log.info({ pods: names, reasons }, 'replaced pooler pods');
  await recordEvent(deps, cluster, 'Normal', 'PoolerPodsReplaced', `${names.length} pooler pod(s) replaced${reasons.length > 0 ? `: ${reasons.join('; ')}` : ' (marked for replacement)'}`);
}

function isMarked(pod: V1Pod): boolean {
  return pod.metadata?.annotations?.[ROLLING_UPDATE_REQUIRED] === 'true';
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
async function writeStatus(deps: ReconcileDeps, cluster: Cluster, obs: Observation): Promise<boolean> {
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
      const fresh = await deps.kube.get<Cluster>(refOf(current));
      if (fresh === undefined || fresh.metadata?.generation !== current.metadata?.generation) return false;
      current = fresh;
    }
  }
}

const STEP_REASON = { apply: 'Applied', replace: 'Replaced', delete: 'Deleted' } as const;

/**
 * One Event per kind of change a reconcile made (Applied, Replaced, Deleted), listing its objects,
 * rather than one per object: a new cluster gets one Event ("Created"), not nine.
 */
async function recordSteps(deps: ReconcileDeps, cluster: Cluster, steps: readonly Step[], created: boolean): Promise<void> {
  for (const op of ['replace', 'delete', 'apply'] as const) {
    const these = steps.filter((s) => s.op === op);
    if (these.length === 0) continue;
    const reason = op === 'apply' && created ? 'Created' : STEP_REASON[op];
    await recordEvent(deps, cluster, 'Normal', reason, `${these.length} object(s): ${these.map(describeStep).join('; ')}`);
  }
}

async function recordEvent(deps: ReconcileDeps, cluster: Cluster, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
  const now = deps.now();
  const event: CoreV1Event = {
    metadata: { generateName: `${cluster.metadata?.name ?? 'cluster'}.`, namespace: cluster.metadata?.namespace },
    involvedObject: { apiVersion: API_VERSION, kind: POSTGRESQL_KIND, name: cluster.metadata?.name, namespace: cluster.metadata?.namespace, uid: cluster.metadata?.uid },
    type, reason, message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
    firstTimestamp: now, lastTimestamp: now, count: 1,
    source: { component: 'pgfn-reconcile' },
  };
  await deps.kube.createEvent(event);
}

function describeStep(s: Step): string {
  const ref = s.op === 'delete' ? s.ref : refOf(s.object);
  return `${s.op} ${ref.kind}/${ref.name} (${s.reason})`;
}

async function settle(results: Map<string, Settled<ReconcileResult>>, name: string, work: () => Promise<ReconcileResult | undefined>): Promise<void> {
  try {
    const value = await work();
    if (value !== undefined) results.set(name, { ok: true, value });
  } catch (err) {
    results.set(name, { ok: false, error: err instanceof Error ? err : new Error(String(err)) });
  }
}

export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
