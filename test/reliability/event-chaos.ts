// Event chaos against the real control plane with the real reconcile handler in the loop (issue 20,
// item 1). Clusters across several namespaces are created and edited at random; every write yields
// the event the ApiServerSource would send, and a seeded schedule then delivers those events the way
// Knative may: dropped, duplicated, late (after newer ones), stale (an old snapshot again), in bursts
// across namespaces, concurrently with further edits, with the Broker's redelivery of 5xx answers.
// Two checks follow:
//   early — a cluster that received (answered 2xx) the snapshot of its last edit, or a pod event sent
//           after it, must already equal a fresh reconcile of its final spec, without a resync. An older
//           snapshot arriving late does not count: reconcile may skip one that shows itself reconciled
//           without reading (ADR 0009), and what it skips only the resync repairs (ADR 0111);
//   final — after one resync per namespace, every cluster must, and no password may have changed.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { CloudEvent } from 'cloudevents';
import { API_VERSION, DEFAULT_OPERATOR_CONFIG, POSTGRESQL_KIND, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { forEachLimited, mapLimited } from '@pgfn/fn-runtime';
import { KubeClient, statusCode } from '@pgfn/kube';
import { example, onKwok, pingEvent, podEvent, resourceEvent, startReconcile, type RunningReconcile } from '../reconcile/support.js';
import { inspect } from './convergence.js';
import { seededRng, type Rng } from './seeded.js';
import { randomEdit, randomInitialSpec, randomMetadataEdit } from './spec-edits.js';

type Cluster = Postgresql & KubernetesObject;

export interface ChaosOptions {
  /** Creates and edits clusters, checks convergence (admin). */
  readonly kc: KubeConfig;
  /** What reconcile acts as: its ServiceAccount with knative/'s RBAC, so a call it lacks a rule for fails. Default: kc. */
  readonly functionKc?: KubeConfig;
  readonly seed: number;
  /** Namespaces are `<prefix>-<i>`; they must not exist yet. */
  readonly prefix: string;
  readonly namespaces: number;
  readonly clustersPerNamespace: number;
  /** Edits and deliveries scheduled after the clusters are created. */
  readonly operations: number;
  readonly config?: OperatorConfig;
}

export interface ChaosReport {
  readonly seed: number;
  readonly clusters: number;
  readonly edits: number;
  readonly deliveries: Readonly<Record<DeliveryKind, number>>;
  /** Redeliveries after a 5xx answer, and deliveries still failing after every retry. */
  readonly retries: number;
  readonly failedDeliveries: number;
  /** Clusters checked early (they received an event after their last edit). */
  readonly checkedEarly: number;
  readonly earlyDivergences: Readonly<Record<string, readonly string[]>>;
  readonly divergences: Readonly<Record<string, readonly string[]>>;
  readonly passwordChanges: readonly string[];
  readonly ms: number;
  /** Where the round's wall time went, ms per phase (bench:chaos reports the medians). */
  readonly phases: Readonly<Record<Phase, number>>;
}

type Phase = 'create' | 'operations' | 'drain' | 'early' | 'resync' | 'final';

type DeliveryKind = 'sent' | 'dropped' | 'duplicated' | 'late' | 'stale' | 'pod' | 'burst';

interface Pending {
  readonly cluster: string;
  readonly event: CloudEvent<unknown>;
  /** The clock when the write it tells of was made. */
  readonly producedAt: number;
}

interface State {
  readonly rng: Rng;
  readonly fn: RunningReconcile;
  readonly kube: KubeClient;
  readonly clusters: { namespace: string; name: string }[];
  readonly pending: Pending[];
  readonly history: Map<string, Pending[]>;
  /** Logical clock: advanced by every finished edit and every delivery start. */
  clock: number;
  readonly lastEdit: Map<string, number>;
  /** Per cluster, the newest state a delivery answered 2xx told of: the write's clock for a snapshot, the start for a pod event. */
  readonly reached: Map<string, number>;
  readonly inFlight: Set<Promise<void>>;
  readonly counts: Record<DeliveryKind, number>;
  retries: number;
  failed: number;
  edits: number;
}

const PG = { apiVersion: API_VERSION, kind: POSTGRESQL_KIND };
const MAX_IN_FLIGHT = 24;
const BROKER_RETRIES = 5;
/** Read-only checks and setup/teardown writes at once: enough to hide the API server's latency, not to swamp it. */
const CHECK_CONCURRENCY = 8;
const key = (c: { namespace: string; name: string }): string => `${c.namespace}/${c.name}`;

/** The namespaces of a round. */
export function chaosNamespaces(opts: Pick<ChaosOptions, 'prefix' | 'namespaces'>): string[] {
  return Array.from({ length: opts.namespaces }, (_, i) => `${opts.prefix}-${i}`);
}

/** Removes namespaces holding clusters: finalizers off (no reconcile is watching any more), then the namespaces. */
export async function removeNamespaces(kc: KubeConfig, namespaces: readonly string[]): Promise<void> {
  const kube = new KubeClient(kc);
  await Promise.all(
    namespaces.map(async (namespace) => {
      const clusters = await kube.list<Cluster>(API_VERSION, POSTGRESQL_KIND, namespace);
      await forEachLimited(clusters, CHECK_CONCURRENCY, async (c) => {
        await kube.patchFinalizers({ ...PG, namespace, name: c.metadata?.name ?? '' }, [], undefined);
      });
      await kube.delete({ apiVersion: 'v1', kind: 'Namespace', name: namespace });
    }),
  );
}

/** One seeded chaos round; reports what it did and every divergence found (empty maps: converged). */
export async function runEventChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const phases: Record<Phase, number> = { create: 0, operations: 0, drain: 0, early: 0, resync: 0, final: 0 };
  let mark = started;
  const phase = (name: Phase): void => {
    const now = Date.now();
    phases[name] = now - mark;
    mark = now;
  };
  const config = opts.config ?? DEFAULT_OPERATOR_CONFIG;
  const rng = seededRng(opts.seed);
  const kube = new KubeClient(opts.kc);
  const namespaces = chaosNamespaces(opts);
  await Promise.all(
    namespaces.map((ns) =>
      kube.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'pgfn.dev/test': 'true' } } }),
    ),
  );
  const fn = await startReconcile(opts.functionKc ?? opts.kc, undefined, config);
  const s: State = {
    rng,
    fn,
    kube,
    clusters: [],
    pending: [],
    history: new Map(),
    clock: 0,
    lastEdit: new Map(),
    reached: new Map(),
    inFlight: new Set(),
    counts: { sent: 0, dropped: 0, duplicated: 0, late: 0, stale: 0, pod: 0, burst: 0 },
    retries: 0,
    failed: 0,
    edits: 0,
  };
  try {
    await createClusters(
      s,
      namespaces.flatMap((namespace) => Array.from({ length: opts.clustersPerNamespace }, (_, i) => ({ namespace, name: `acid-c${i}` }))),
    );
    phase('create');
    for (let op = 0; op < opts.operations; op++) await step(s);
    phase('operations');
    while (s.pending.length > 0) await deliverOne(s, false);
    await Promise.all(s.inFlight);
    phase('drain');

    // Every delivery has been answered: the checks only read, so clusters are checked side by side.
    const early: Record<string, string[]> = {};
    let checkedEarly = 0;
    const before = new Map<string, Map<string, string>>();
    await forEachLimited(s.clusters, CHECK_CONCURRENCY, async (c) => {
      const found = await inspect(kube, c, config);
      before.set(key(c), found.passwords);
      if ((s.reached.get(key(c)) ?? -1) < (s.lastEdit.get(key(c)) ?? 0)) return;
      checkedEarly++;
      if (found.divergences.length > 0) early[key(c)] = found.divergences;
    });

    phase('early');
    // One resync per namespace, as each namespace's own reconcile gets it from its PingSource: they run at once.
    await Promise.all(namespaces.map((namespace) => resync(opts.functionKc ?? opts.kc, namespace, config)));
    phase('resync');
    const final: Record<string, string[]> = {};
    const passwordChanges: string[] = [];
    await forEachLimited(s.clusters, CHECK_CONCURRENCY, async (c) => {
      const found = await inspect(kube, c, config);
      if (found.divergences.length > 0) final[key(c)] = found.divergences;
      for (const [secret, password] of before.get(key(c)) ?? []) {
        // A Secret the resync removed (the pooler's, once the pooler is off, as upstream) changed no password;
        // one still desired but missing is a divergence above.
        const now = found.passwords.get(secret);
        if (now !== undefined && now !== password) passwordChanges.push(`${c.namespace}/${secret}`);
      }
    });
    phase('final');
    return {
      seed: opts.seed,
      clusters: s.clusters.length,
      edits: s.edits,
      deliveries: { ...s.counts },
      retries: s.retries,
      failedDeliveries: s.failed,
      checkedEarly,
      earlyDivergences: early,
      divergences: final,
      passwordChanges,
      ms: Date.now() - started,
      phases,
    };
  } finally {
    await Promise.allSettled(s.inFlight);
    await fn.stop();
  }
}

/**
 * Creates the clusters side by side; their specs are drawn, and their writes noted, in list order, so the
 * seed fixes the schedule as if they had been created one by one.
 */
async function createClusters(s: State, refs: readonly { namespace: string; name: string }[]): Promise<void> {
  const wanted = refs.map(({ namespace, name }) => {
    const base = onKwok(example('minimal.yaml', namespace, name));
    return { ...base, spec: randomInitialSpec(base.spec, s.rng) };
  });
  const created = await mapLimited(wanted, CHECK_CONCURRENCY, (c) => s.kube.create<Cluster>(c));
  refs.forEach(({ namespace, name }, i) => {
    const object = created[i];
    if (object === undefined) throw new Error(`cluster ${namespace}/${name} exists already: use a fresh prefix`);
    s.clusters.push({ namespace, name });
    noteWrite(s, { namespace, name }, resourceEvent('add', object));
  });
}

/** One scheduled operation: mostly edits and deliveries, sometimes bursts, stale repeats and pod events. */
async function step(s: State): Promise<void> {
  const r = s.rng.next();
  if (r < 0.35) await editCluster(s);
  else if (r < 0.8) await deliverOne(s, s.rng.chance(0.5));
  else if (r < 0.88) await burst(s);
  else if (r < 0.94) await repeatStale(s);
  else {
    const c = s.rng.pick(s.clusters);
    s.counts.pod++;
    await launch(s, { cluster: key(c), event: podEvent(c.namespace, c.name) });
  }
}

async function editCluster(s: State): Promise<void> {
  const c = s.rng.pick(s.clusters);
  const metadataOnly = s.rng.chance(0.15);
  const choice = s.rng.next();
  for (let attempt = 0; ; attempt++) {
    const cur = await s.kube.get<Cluster>({ ...PG, ...c });
    if (cur === undefined) throw new Error(`cluster ${key(c)} vanished`);
    const next: Cluster = metadataOnly
      ? { ...cur, metadata: randomMetadataEdit(cur, seededRng(Math.floor(choice * 2 ** 31))) }
      : { ...cur, spec: randomEdit(cur.spec, seededRng(Math.floor(choice * 2 ** 31))).spec };
    try {
      // A PUT guarded by the resourceVersion read: reconcile's finalizer or status write may come between.
      const written = await s.kube.replace<Cluster>(next);
      s.edits++;
      noteWrite(s, c, resourceEvent('update', written));
      return;
    } catch (err) {
      if (statusCode(err) !== 409 || attempt >= 10) throw err;
    }
  }
}

function noteWrite(s: State, c: { namespace: string; name: string }, event: CloudEvent<unknown>): void {
  const written: Pending = { cluster: key(c), event, producedAt: ++s.clock };
  s.lastEdit.set(key(c), written.producedAt);
  s.pending.push(written);
  const seen = s.history.get(key(c)) ?? [];
  seen.push(written);
  s.history.set(key(c), seen);
}

/** A random pending event (not the oldest: that is reordering): dropped, delivered, or delivered twice. */
async function deliverOne(s: State, wait: boolean): Promise<void> {
  if (s.pending.length === 0) return;
  const index = s.rng.int(s.pending.length);
  if (index > 0) s.counts.late++;
  const [p] = s.pending.splice(index, 1);
  if (p === undefined) return;
  if (s.rng.chance(0.15)) {
    s.counts.dropped++;
    return;
  }
  const twice = s.rng.chance(0.15);
  if (twice) s.counts.duplicated++;
  s.counts.sent++;
  const first = await launch(s, p);
  if (twice) await launch(s, p);
  if (wait) await first.done;
}

/** Several pending events across namespaces at once. */
async function burst(s: State): Promise<void> {
  const n = Math.min(s.pending.length, 2 + s.rng.int(10));
  s.counts.burst++;
  const all: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const [p] = s.pending.splice(s.rng.int(s.pending.length), 1);
    if (p === undefined) continue;
    s.counts.sent++;
    all.push((await launch(s, p)).done);
  }
  if (s.rng.chance(0.5)) await Promise.all(all);
}

/** An event already sent, sent again after newer ones (a late duplicate, as a restarted adapter's re-list). */
async function repeatStale(s: State): Promise<void> {
  const c = s.rng.pick(s.clusters);
  const seen = s.history.get(key(c)) ?? [];
  if (seen.length === 0) return;
  s.counts.stale++;
  await launch(s, s.rng.pick(seen));
}

/**
 * Starts one delivery with the Broker's redelivery of 5xx answers and returns it running (after
 * waiting for room when many are in flight). It counts for the early check only if answered 2xx.
 * Random choices are drawn here, before anything runs concurrently, so the seed fixes them.
 */
async function launch(
  s: State,
  { cluster, event, producedAt }: { readonly cluster: string; readonly event: CloudEvent<unknown>; readonly producedAt?: number },
): Promise<{ readonly done: Promise<void> }> {
  while (s.inFlight.size >= MAX_IN_FLIGHT) await Promise.race(s.inFlight);
  const mode = s.rng.chance(0.5) ? 'binary' : 'structured';
  const startedAt = ++s.clock;
  const delivery = (async (): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const status = await s.fn.post(event, mode).then(
        (res) => res.status,
        () => 503, // connection refused or reset: the Broker retries those too
      );
      if (status < 300) {
        s.reached.set(cluster, Math.max(s.reached.get(cluster) ?? -1, producedAt ?? startedAt));
        return;
      }
      if (status < 500 || attempt >= BROKER_RETRIES) {
        s.failed++;
        return;
      }
      s.retries++;
      await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  })();
  s.inFlight.add(delivery);
  void delivery.then(() => s.inFlight.delete(delivery));
  return { done: delivery }; // wrapped: an async function would otherwise wait for it
}

/** The periodic resync of one namespace, as a reconcile watching that namespace gets it (redelivered on 5xx). */
async function resync(kc: KubeConfig, namespace: string, config: OperatorConfig): Promise<void> {
  const fn = await startReconcile(kc, namespace, config);
  try {
    for (let attempt = 0; ; attempt++) {
      const res = await fn.post(pingEvent());
      if (res.ok || attempt >= BROKER_RETRIES) return;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  } finally {
    await fn.stop();
  }
}
