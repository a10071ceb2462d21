import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { OperatorConfig } from '@pgfn/api';
import { podRoleLabelKey } from '@pgfn/builder';
import { RetryableError, forEachLimited, mapLimited, type Logger } from '@pgfn/fn-runtime';
import type { Settled } from './batcher.js';
import { readBuildSources, type BuildSources } from './build-sources.js';
import { FINALIZER, cleanUp, deletionRefusals, ensureFinalizer } from './deletion.js';
import type { Built, ReconcileDeps, ReconcileResult } from './deps.js';
import { CLUSTER_UPDATED, reconciledAsIs, type Mode } from './events.js';
import { buildDesired, execute, type Applied, type ExecutionContext } from './execute.js';
import { foreignSecretRefs, readForeignSecrets, withForeignSecrets } from './foreign-secrets.js';
import { clustersWithClaims, isListedKind, matchesSelector, readClusters, readLive, type Cluster, type LiveState } from './live-state.js';
import { metadataHash } from './metadata-hash.js';
import { adoptPatroniObjects } from './patroni-objects.js';
import { mayPruneBy, planChanges, type Judge, type Plan } from './plan.js';
import { markPods, replacePoolerPods, rollingUpdateWork } from './pods.js';
import { describeStep, recordEvent, recordSteps, writeStatus } from './records.js';
import type { RoleSyncOutcome } from './role-sync.js';
import { SharedObjects } from './shared-objects.js';
import { streamsInScope, type StreamsOutcome } from './streams-sync.js';
import { computeStatus, readableProblem, validMessage, type Observation } from './status.js';

export { ROLLING_UPDATE_REQUIRED, type BuilderPort, type Built, type ReconcileDeps, type ReconcileResult } from './deps.js';
export { summarisePods } from './pods.js';

/** A status-only batch may use a configuration read this recently (full reconciles always re-read). */
export const OBSERVE_CONFIG_MAX_AGE_MS = 10_000;

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
export async function reconcileBatch(
  deps: ReconcileDeps,
  namespace: string,
  entries: ReadonlyMap<string, Mode>,
  log: Logger,
): Promise<Map<string, Settled<ReconcileResult>>> {
  const results = new Map<string, Settled<ReconcileResult>>();
  const onlyObserve = [...entries.values()].every((m) => m === 'observe');
  // Two independent reads, one round trip of a cold start's chain (ADR 0118).
  const [{ config, problems }, { clusters, inNamespace }] = await Promise.all([
    deps.loadConfig(onlyObserve ? OBSERVE_CONFIG_MAX_AGE_MS : 0),
    readClusters(deps.kube, namespace, [...entries.keys()]),
  ]);
  if (problems.length > 0) log.warn({ problems }, 'operator configuration has bad values; using defaults for them');
  if (inNamespace !== undefined) deps.onNamespaceSize?.(namespace, inNamespace);

  const observed: Cluster[] = [];
  const validated: Cluster[] = [];
  const warnings = new Map<string, readonly string[]>();
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
      const problems = deps.builder
        .validate(cluster, config)
        .map((e) => ({ severity: e.severity, text: readableProblem(`${e.path}: ${e.message}`) }));
      const invalid = problems.filter((e) => e.severity !== 'warning').map((e) => e.text);
      if (invalid.length > 0) return markInvalid(deps, cluster, invalid, clog);
      warnings.set(
        name,
        problems.filter((e) => e.severity === 'warning').map((e) => e.text),
      );
      validated.push(cluster);
      return undefined;
    });
  }
  if (validated.length === 0 && observed.length === 0) return results;

  const labelKey = deps.builder.clusterLabel(clusters.values().next().value as Cluster, config)[0];
  const value = (c: Cluster): string => deps.builder.clusterLabel(c, config)[1];
  // Clusters never synced (a first event) will most likely have their StatefulSet created now: their
  // claims are read with the other lists rather than in a round trip of their own after them (ADR 0143).
  const unsynced = validated.filter((c) => !c.status?.conditions?.some((k) => k.type === 'Synced')).map(value);
  // The finalizers are written alongside the lists, one round trip instead of two (ADR 0154): neither
  // needs the other, and every write of the clusters' objects comes after both.
  const [valid, ownNamespace, sources, foreign, unsyncedClaims] = await Promise.all([
    withFinalizers(deps, validated, results, log),
    readLive(deps.kube, namespace, { labelKey, full: validated.map(value), observed: observed.map(value) }),
    validated.length === 0 ? {} : readBuildSources(deps.kube, namespace, config).catch((err: unknown) => err as Error),
    readForeignSecrets(deps.kube, { labelKey, clusters: validated.map((c) => ({ label: value(c), refs: foreignSecretRefs(c, config) })) }),
    clustersWithClaims(deps.kube, namespace, { labelKey, values: unsynced }),
  ]);
  const live = withForeignSecrets(ownNamespace, foreign);
  // Clusters whose StatefulSet this batch creates: without an older claim, their volumes are the manifest's.
  const newborn = valid.map(value).filter((v) => !live.statefulSets.has(v));
  const unread = newborn.filter((v) => !unsynced.includes(v));
  const withClaims = new Set([...unsyncedClaims, ...(await clustersWithClaims(deps.kube, namespace, { labelKey, values: unread }))]);
  const shared = new SharedObjects(deps.kube);
  const escalate: Cluster[] = [];
  await forEachLimited(valid, deps.clusterConcurrency ?? 8, (c) =>
    settle(results, c.metadata?.name ?? '', () =>
      syncCluster(
        deps,
        { cluster: c, config, live, log: log.child({ namespace, cluster: c.metadata?.name }) },
        {
          sources,
          shared,
          warnings: warnings.get(c.metadata?.name ?? '') ?? [],
          claimsFromManifest: newborn.includes(value(c)) && !withClaims.has(value(c)),
        },
      ),
    ),
  );
  await forEachLimited(observed, deps.clusterConcurrency ?? 8, async (c) => {
    if (!live.statefulSets.has(value(c))) {
      escalate.push(c); // its StatefulSet is gone: rebuild, below
      return;
    }
    await settle(results, c.metadata?.name ?? '', () =>
      observeCluster(deps, { cluster: c, config, live, log: log.child({ namespace, cluster: c.metadata?.name }) }),
    );
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
  const condition = (type: string): string | undefined => cluster.status?.conditions?.find((c) => c.type === type)?.status;
  return (
    !reconciledAsIs(cluster) ||
    condition('Valid') !== 'True' ||
    condition('Synced') !== 'True' ||
    (deps.syncRoles !== undefined && config.enableDatabaseAccess && condition('RolesSynced') !== 'True') ||
    (deps.syncStreams !== undefined && streamsInScope(cluster) && condition('StreamsSynced') !== 'True')
  );
}

/** Build, apply what changed, prune, mark pods, sync roles, write status: one cluster, its objects read by the batch. */
interface ClusterWork {
  readonly cluster: Cluster;
  readonly config: OperatorConfig;
  /** What the batch read for every cluster of the namespace. */
  readonly live: LiveState;
  readonly log: Logger;
}

async function syncCluster(
  deps: ReconcileDeps,
  { cluster, config, live, log }: ClusterWork,
  batch: {
    readonly sources: BuildSources | Error;
    readonly shared: SharedObjects;
    readonly warnings: readonly string[];
    /** The StatefulSet is created now and no claim of the cluster exists: its claims are made from the manifest. */
    readonly claimsFromManifest: boolean;
  },
): Promise<ReconcileResult> {
  const { sources, shared, warnings } = batch;
  const namespace = cluster.metadata?.namespace ?? '';
  const name = cluster.metadata?.name ?? '';
  const subject = `${namespace}/${name}`;
  const value = deps.builder.clusterLabel(cluster, config)[1];
  const owned = live.owned.get(value) ?? [];
  const liveSts = live.statefulSets.get(value);
  const creating = liveSts === undefined || isStillCreating(cluster);
  const ctx: ExecutionContext = { cluster, config, sources: sources instanceof Error ? {} : sources, owned, shared };

  let built: Built;
  let plan: Plan;
  let applied: Applied;
  try {
    if (sources instanceof Error) throw sources;
    built = buildDesired(deps, ctx, owned);
    const unlisted = await shared.read(built.objects.filter((o) => !isListedKind(o.kind)));
    const prunable = deps.builder.prunableKeys(cluster, config);
    plan = planChanges(
      built.objects,
      [...owned, ...unlisted],
      { compareStatefulSet: deps.builder.compareStatefulSet, compareLive: judgeDrift(deps, config) },
      mayPruneBy(prunable),
    );
    applied = await execute(deps, plan, ctx, log);
  } catch (err) {
    // Whatever stopped the sync (an object the configuration names is missing, a write refused) is
    // told on the status and as an Event; the Broker retries the delivery.
    const syncError = (err as Error).message;
    await writeStatus(deps, cluster, {
      generation: cluster.metadata?.generation,
      metadataHash: metadataHash(cluster.metadata),
      invalid: [],
      syncError,
      creating,
      podsPendingRotation: 0,
    });
    await recordEvent(deps, cluster, { type: 'Warning', reason: 'SyncFailed', message: syncError });
    throw new RetryableError(`syncing ${subject}: ${syncError}`, { cause: err });
  }
  const desired = built.objects;
  await adoptPatroniObjects(deps.kube, { cluster, config, owned, log });

  const desiredSts = desired.find((o): o is V1StatefulSet => o.kind === 'StatefulSet');
  const pods = podsOf(deps, cluster, config, live);
  // Marked only after the Secrets are written: a restarted pod must find the new password.
  const pending = await markPods(deps, {
    namespace,
    pods,
    roleLabel: podRoleLabelKey(config),
    desiredHash: deps.builder.podTemplateHash(desiredSts?.spec?.template),
    passwordReasons: built.podRotationReasons,
    log,
  });
  const rollReasons = [...plan.rollReasons, ...built.podRotationReasons];
  await replacePoolerPods(deps, { cluster, config, live, log }, built.poolerPodRotationReasons);
  const podWork = rollingUpdateWork(pods, pending);
  if (podWork.length > 0 || rollReasons.length > 0) {
    await deps.emit('dev.pgfn.rollingupdate.required', subject, {
      namespace,
      name,
      pods: pending.stale,
      // why this sync asks for a rotation when it has a reason of its own, else what the pods show
      reasons: rollReasons.length > 0 ? rollReasons : podWork,
    });
  }
  let roles: RoleSyncOutcome | undefined;
  if (deps.syncRoles !== undefined && config.enableDatabaseAccess) {
    roles = await deps.syncRoles(cluster, config, pods, log);
    if (roles.state === 'synced' && roles.statements > 0)
      await recordEvent(deps, cluster, { type: 'Normal', reason: 'RolesSynced', message: roles.message });
    if (roles.state === 'failed') await recordEvent(deps, cluster, { type: 'Warning', reason: 'RoleSyncFailed', message: roles.message });
  }
  const streams = await syncStreamsOf(deps, { cluster, config, pods });
  const obs: Observation = {
    generation: cluster.metadata?.generation,
    metadataHash: metadataHash(cluster.metadata),
    invalid: [],
    warnings,
    creating,
    statefulSet: applied.statefulSet ?? liveSts,
    pods: pending.summary,
    podsPendingRotation: pending.stale.length,
    volumesFromManifest: batch.claimsFromManifest && applied.statefulSet !== undefined,
    ...(roles === undefined ? {} : { roles: { state: roles.state, message: roles.message } }),
    ...(streams === undefined ? {} : { streams: { state: streams.state, message: streams.message } }),
  };
  // The status and the Events are independent writes: one round trip, not three (ADR 0118).
  const [{ status }] = await Promise.all([
    updateStatus(deps, cluster, obs),
    recordWarnings(deps, cluster, warnings),
    recordSteps(deps, cluster, applied.steps, creating && liveSts === undefined),
  ]);
  // A changed spec of a cluster that has run is applied: told once (team-role-sync's Trigger takes this, not
  // every postgresql event, ADR 0132). A new cluster is told by cluster.ready; the periodic team sync repairs a loss.
  const generation = cluster.metadata?.generation;
  if (!creating && generation !== undefined && cluster.status?.observedGeneration !== generation)
    await deps.emit(CLUSTER_UPDATED, subject, { namespace, name, generation });
  log.info({ writes: plan.steps.length, unchanged: plan.unchanged, status, steps: plan.steps.map(describeStep) }, 'reconciled');
  return { outcome: 'synced', writes: plan.steps.length, unchanged: plan.unchanged, status, podsPendingRotation: pending.stale.length };
}

/** spec.streams, when wired and in scope; changes are told as a Normal Event, failures as a Warning. */
async function syncStreamsOf(
  deps: ReconcileDeps,
  { cluster, config, pods }: { cluster: Cluster; config: OperatorConfig; pods: readonly V1Pod[] },
): Promise<StreamsOutcome | undefined> {
  if (deps.syncStreams === undefined || !streamsInScope(cluster)) return undefined;
  const outcome = await deps.syncStreams(cluster, config, pods);
  if (outcome.state === 'synced' && outcome.changes > 0)
    await recordEvent(deps, cluster, { type: 'Normal', reason: 'StreamsSynced', message: outcome.message });
  if (outcome.state === 'failed')
    await recordEvent(deps, cluster, { type: 'Warning', reason: 'StreamsSyncFailed', message: outcome.message });
  return outcome;
}

/** The builder's drift check under this configuration's ignored_annotations. */
function judgeDrift(deps: ReconcileDeps, config: OperatorConfig): Judge['compareLive'] {
  const compare = deps.builder.compareLive;
  return compare === undefined ? undefined : (live, desired) => compare(live, desired, config.ignoredAnnotations);
}

/**
 * Validation warnings as a Warning Event, once per change: only when the Valid condition's message
 * (written just now) differs from the one the cluster carried, so a resync records nothing new.
 */
async function recordWarnings(deps: ReconcileDeps, cluster: Cluster, warnings: readonly string[]): Promise<void> {
  if (warnings.length === 0) return;
  const before = cluster.status?.conditions?.find((c) => c.type === 'Valid')?.message;
  const now = validMessage(warnings);
  if (before !== now) await recordEvent(deps, cluster, { type: 'Warning', reason: 'SpecWarning', message: now });
}

/** Pods or the StatefulSet moved: recompute the status from them alone, write it if it changed. */
async function observeCluster(deps: ReconcileDeps, { cluster, config, live, log }: ClusterWork): Promise<ReconcileResult> {
  const sts = live.statefulSets.get(deps.builder.clusterLabel(cluster, config)[1]);
  const pods = podsOf(deps, cluster, config, live);
  // A pod the StatefulSet controller made from the old template after the last full reconcile listed
  // pods is marked here, so its rotation does not wait for the resync.
  const pending = await markPods(deps, {
    namespace: cluster.metadata?.namespace ?? '',
    pods,
    roleLabel: podRoleLabelKey(config),
    desiredHash: deps.builder.podTemplateHash(sts?.spec?.template),
    passwordReasons: [],
    log,
  });
  // Pod events reach rolling-update through this (ADR 0120): only when some pod has work for it.
  const podWork = rollingUpdateWork(pods, pending);
  if (podWork.length > 0) {
    const namespace = cluster.metadata?.namespace ?? '';
    const name = cluster.metadata?.name ?? '';
    await deps.emit('dev.pgfn.rollingupdate.required', `${namespace}/${name}`, { namespace, name, pods: pending.stale, reasons: podWork });
  }
  const obs: Observation = {
    generation: cluster.metadata?.generation,
    metadataHash: metadataHash(cluster.metadata),
    invalid: [],
    creating: isStillCreating(cluster),
    statefulSet: sts,
    pods: pending.summary,
    podsPendingRotation: pending.stale.length,
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
  const changed = await writeStatus(deps, cluster, {
    generation: cluster.metadata?.generation,
    metadataHash: metadataHash(cluster.metadata),
    invalid,
    creating: false,
    podsPendingRotation: 0,
  });
  if (changed) {
    await recordEvent(deps, cluster, {
      type: 'Warning',
      reason: 'InvalidSpec',
      message: `the manifest is invalid, nothing was changed: ${invalid.join('; ')}`,
    });
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
    await recordEvent(deps, cluster, {
      type: 'Warning',
      reason: 'DeleteRefused',
      message: `deletion refused, every object is kept: ${reasons.join('; ')}`,
    });
    log.warn({ reasons }, 'deletion refused by delete protection');
    return { outcome: 'delete-refused', reasons };
  }
  const objects = await cleanUp(deps.kube, cluster, config, deps.builder.objectSelector(cluster, config));
  await deps.emit('dev.pgfn.cluster.deleted', `${namespace}/${name}`, { namespace, name, objects });
  log.info({ objects }, 'cluster deleted');
  return { outcome: 'deleted', objects };
}

/**
 * Our finalizer on each validated cluster, as many at once as clusters are synced. Returns the clusters
 * as stored afterwards (their later writes are guarded by the new resourceVersion); a cluster whose
 * finalizer write failed has that failure as its outcome and is left out.
 */
async function withFinalizers(
  deps: ReconcileDeps,
  clusters: readonly Cluster[],
  results: Map<string, Settled<ReconcileResult>>,
  log: Logger,
): Promise<Cluster[]> {
  const written = await mapLimited(clusters, deps.clusterConcurrency ?? 8, async (cluster) => {
    const name = cluster.metadata?.name ?? '';
    let stored: Cluster | undefined;
    await settle(results, name, async () => {
      stored = await ensureFinalizer(deps.kube, cluster);
      if (stored !== cluster) log.info({ namespace: cluster.metadata?.namespace, cluster: name, finalizer: FINALIZER }, 'added finalizer');
      return undefined;
    });
    return stored;
  });
  return written.filter((c): c is Cluster => c !== undefined);
}

async function settle(
  results: Map<string, Settled<ReconcileResult>>,
  name: string,
  work: () => Promise<ReconcileResult | undefined>,
): Promise<void> {
  try {
    const value = await work();
    if (value !== undefined) results.set(name, { ok: true, value });
  } catch (err) {
    results.set(name, { ok: false, error: err instanceof Error ? err : new Error(String(err)) });
  }
}
