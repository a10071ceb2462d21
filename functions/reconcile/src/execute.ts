import type { KubernetesObject, V1Pod, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import type { OperatorConfig } from '@pgfn/api';
import type { Logger } from '@pgfn/fn-runtime';
import { equalitySelector, refOf, type KubeClient } from '@pgfn/kube';
import { appliedHashOf, withAppliedHash } from './applied-hash.js';
import type { BuildSources } from './build-sources.js';
import type { Built, ReconcileDeps } from './deps.js';
import { isListedKind, type Cluster } from './live-state.js';
import type { Plan, Step } from './plan.js';
import { describeStep } from './records.js';
import type { SharedObjects } from './shared-objects.js';

// Building the desired objects and writing the plan's steps.

export function buildDesired(
  deps: ReconcileDeps,
  ctx: Pick<ExecutionContext, 'cluster' | 'config' | 'sources'>,
  known: readonly KubernetesObject[],
): Built {
  const existingSecrets = new Map(known.filter((o) => o.kind === 'Secret').map((o) => [o.metadata?.name ?? '', o as V1Secret]));
  return deps.builder.build({
    cluster: ctx.cluster,
    config: ctx.config,
    existingSecrets,
    newPassword: deps.newPassword,
    now: deps.now(),
    ...ctx.sources,
  });
}

export interface Applied {
  readonly statefulSet?: V1StatefulSet;
  /** The plan's steps as carried out (a Secret found drifted on its create conflict says so). */
  readonly steps: readonly Step[];
}

export interface ExecutionContext {
  readonly cluster: Cluster;
  readonly config: OperatorConfig;
  readonly sources: BuildSources;
  readonly owned: readonly KubernetesObject[];
  readonly shared: SharedObjects;
}

/**
 * Workloads start pods, and pods need the Secrets, the ServiceAccount and the Services' Endpoints that
 * Patroni adopts: those are written first; deletions of what is no longer desired come last.
 */
const WORKLOAD_KINDS = new Set(['StatefulSet', 'Deployment', 'CronJob']);

function waveOf(step: Step): number {
  if (step.op === 'delete') return 2;
  return WORKLOAD_KINDS.has(step.object.kind ?? '') ? 1 : 0;
}

/**
 * Writes the plan in three waves (ADR 0110), the writes of a wave at once: a new cluster's dozen
 * objects cost three round trips of latency instead of a dozen. A wave ends when all its writes have
 * ended; the first failure is thrown then, so a later wave never runs on a failed earlier one.
 */
export async function execute(deps: ReconcileDeps, plan: Plan, ctx: ExecutionContext, log: Logger): Promise<Applied> {
  let statefulSet: V1StatefulSet | undefined;
  const steps: Step[] = [...plan.steps];
  for (const wave of [0, 1, 2]) {
    const settled = await Promise.allSettled(
      plan.steps.map(async (step, i) => {
        if (waveOf(step) !== wave) return;
        log.debug({ step: describeStep(step) }, 'writing');
        const written = await write(deps, step, ctx);
        if (written.statefulSet !== undefined) statefulSet = written.statefulSet;
        if (written.drift !== undefined && step.op === 'apply') {
          steps[i] = { ...step, reason: `drifted: ${written.drift.join('; ')}`, drift: written.drift };
        }
      }),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }
  return statefulSet === undefined ? { steps } : { statefulSet, steps };
}

async function write(
  deps: ReconcileDeps,
  step: Step,
  ctx: ExecutionContext,
): Promise<{ readonly statefulSet?: V1StatefulSet; readonly drift?: string[] }> {
  // kube-kinds: v1/Secret v1/Service v1/Endpoints policy/v1/PodDisruptionBudget apps/v1/StatefulSet apps/v1/Deployment batch/v1/CronJob
  if (step.op === 'delete') await deps.kube.delete(step.ref);
  else if (step.op === 'replace') return { statefulSet: await replace(deps.kube, step.object) };
  else if (!isListedKind(step.object.kind)) await ctx.shared.apply(step.object);
  else if (step.object.kind === 'Secret' && step.reason === 'missing') {
    const drift = await createSecret(deps, step.object, ctx);
    return drift === undefined ? {} : { drift };
  } else {
    // Entries another manager added to a keyed list survive an apply; a merge patch sets the list first.
    // kube-kinds: v1/Secret v1/Service v1/Endpoints policy/v1/PodDisruptionBudget apps/v1/StatefulSet apps/v1/Deployment batch/v1/CronJob
    if (step.replaceLists !== undefined) await deps.kube.mergePatch(refOf(step.object), step.replaceLists);
    // kube-kinds: v1/Secret v1/Service v1/Endpoints policy/v1/PodDisruptionBudget apps/v1/StatefulSet apps/v1/Deployment batch/v1/CronJob
    const written = await deps.kube.apply(step.object);
    if (written.kind === 'StatefulSet' || step.object.kind === 'StatefulSet') return { statefulSet: written };
  }
  return {};
}

/**
 * A new credential Secret is created, never applied: if one of that name appeared meanwhile (made by
 * a user before the cluster, or by a racing reconcile), its password wins and only our labels and
 * annotations are added to it.
 */
async function createSecret(deps: ReconcileDeps, secret: KubernetesObject, ctx: ExecutionContext): Promise<string[] | undefined> {
  // kube-kinds: v1/Secret
  if ((await deps.kube.create(secret)) !== undefined) return undefined;
  // kube-kinds: v1/Secret
  const existing = await deps.kube.get<V1Secret>(refOf(secret));
  if (existing === undefined) throw new Error(`Secret ${secret.metadata?.name ?? ''} was neither creatable nor readable; retrying`);
  const rebuilt = buildDesired(deps, ctx, [...ctx.owned, { ...existing, apiVersion: 'v1', kind: 'Secret' }]).objects.find(
    (o) => o.kind === 'Secret' && o.metadata?.name === secret.metadata?.name,
  );
  if (rebuilt === undefined) return undefined;
  const want = withAppliedHash(rebuilt);
  // A Secret whose cluster label was removed is missing from the lists: repair its labels here too.
  const drift = deps.builder.compareLive?.(existing, want, ctx.config.ignoredAnnotations);
  const drifted = drift?.action === 'repair' && appliedHashOf(existing) === appliedHashOf(want);
  // kube-kinds: v1/Secret
  if (appliedHashOf(existing) !== appliedHashOf(want) || drifted) await deps.kube.apply(want);
  return drifted ? drift?.reasons : undefined;
}

/** How long a replace waits for the StatefulSet controller to finish adopting the pods. */
const ADOPTION_WAIT_MS = 30_000;

/**
 * Waits until every pod the StatefulSet selects names the live StatefulSet as its controller. Deleting
 * a StatefulSet (orphaning) while its controller is still adopting the pods a previous replace orphaned
 * leaves them owned by a UID that no longer exists, and the garbage collector then deletes them: every
 * pod of the cluster at once, without switchover (reproduced with three replaces in a row).
 */
async function untilPodsAdopted(kube: KubeClient, ref: ReturnType<typeof refOf>): Promise<void> {
  const deadline = Date.now() + ADOPTION_WAIT_MS;
  for (;;) {
    // kube-kinds: apps/v1/StatefulSet
    const live = await kube.get<V1StatefulSet>(ref);
    const labels = live?.spec?.selector?.matchLabels ?? {};
    if (live === undefined || Object.keys(labels).length === 0) return;
    const selector = equalitySelector(labels);
    // kube-kinds: v1/Pod
    const pods = await kube.list<V1Pod>('v1', 'Pod', ref.namespace, selector);
    const adopted = (p: V1Pod): boolean =>
      p.metadata?.ownerReferences?.some((o) => o.controller === true && o.uid === live.metadata?.uid) ?? false;
    if (pods.every(adopted)) return;
    if (Date.now() > deadline) throw new Error(`StatefulSet ${ref.name} has pods it has not adopted yet; not replacing it now (retrying)`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A change Kubernetes cannot make in place: delete with orphan propagation (pods keep running), recreate. */
export async function replace(kube: KubeClient, object: KubernetesObject): Promise<KubernetesObject> {
  const ref = refOf(object);
  if (object.kind === 'StatefulSet') await untilPodsAdopted(kube, ref);
  // kube-kinds: v1/Secret v1/Service v1/Endpoints policy/v1/PodDisruptionBudget apps/v1/StatefulSet apps/v1/Deployment batch/v1/CronJob
  await kube.delete(ref, 'Orphan');
  const deadline = Date.now() + 60_000;
  // kube-kinds: v1/Secret v1/Service v1/Endpoints policy/v1/PodDisruptionBudget apps/v1/StatefulSet apps/v1/Deployment batch/v1/CronJob
  while ((await kube.get(ref)) !== undefined) {
    if (Date.now() > deadline) throw new Error(`${ref.kind} ${ref.name} still exists 60 s after its orphaning delete`);
    await new Promise((r) => setTimeout(r, 250));
  }
  // kube-kinds: v1/Secret v1/Service v1/Endpoints policy/v1/PodDisruptionBudget apps/v1/StatefulSet apps/v1/Deployment batch/v1/CronJob
  return kube.apply(object);
}
