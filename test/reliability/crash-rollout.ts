// Crash in a rollout step (issue 20, item 2, rolling-update; ADR 0100): a rollout of every pod of a real
// Spilo cluster (Patroni and PostgreSQL on the node agent) in which the first invocation of every step
// dies after its n-th write — Kubernetes writes, Patroni calls that change something, CloudEvents — the
// way crash.ts kills reconcile: the (n+1)-th write throws before it is sent and nothing after it reaches
// anyone (the dead instance cannot even release its Lease). The next event goes to a fresh instance;
// one that meets the dead holder's Lease answers busy (503: the Broker redelivers with backoff) until
// the Lease expires. The rollout must complete with every pod deleted exactly once, the RollingUpdate
// condition False, and the Lease released or expired. The same driver serves the control-plane outage
// mid-rollout (control-plane-outage-rollout.test.ts): `beforeWrite` may cut the API server off between
// two writes, and an invocation that fails is answered 503 as the function's server answers it.
// The instances share one injected clock (the function's `now`, which its Lease uses): a delivery
// refused busy while a dead holder's Lease is valid moves that clock to the Lease's expiry instead of
// waiting it out, so the redelivery after the Broker's backoff finds the Lease expired, as it would
// have after the real wait. The refusal itself happens at the real time.
import { randomUUID } from 'node:crypto';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { API_VERSION, POSTGRESQL_KIND, type Condition } from '@pgfn/api';
import { ROLLING_UPDATE_REQUIRED_ANNOTATION } from '@pgfn/builder';
import { clusterLeaseName, createLogger, eventRecorder } from '@pgfn/fn-runtime';
import { KubeClient } from '@pgfn/kube';
import { PatroniClient } from '@pgfn/patroni';
import type { SpiloCluster } from '@pgfn/node-agent/testing';
import { advance, type AdvanceOutcome } from '../../functions/rolling-update/src/advance.js';
import type { PatroniApi, RollingDeps } from '../../functions/rolling-update/src/deps.js';

const KUBE_WRITES = new Set(['apply', 'create', 'delete', 'patch', 'patch-status', 'replace']);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface RolloutCrashRun {
  /** Administrator: flags the pods and reads what happened. */
  readonly kc: KubeConfig;
  /** rolling-update's ServiceAccount: the function's own requests. */
  readonly functionKc: KubeConfig;
  /** Real Patroni behind the pods; its `postgresql` object exists in the API. */
  readonly cluster: SpiloCluster;
  /** The first invocation of each step dies after this many writes (never when undefined). */
  readonly crashAfter?: number;
  /** Told before each write of every invocation, with the writes that invocation made so far. */
  readonly beforeWrite?: (made: number) => void;
  /** The function's Lease duration (a dead holder's Lease blocks the cluster this long). */
  readonly leaseSeconds: number;
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface RolloutCrashReport {
  /** Invocations killed (each the first of a step with more than `crashAfter` writes). */
  readonly crashes: number;
  /** Most writes an invocation made that was not killed (the crash points of a step: 0 … this − 1). */
  readonly maxStepWrites: number;
  /** Pod deletions that reached the API server, and pods of the cluster. */
  readonly podDeletions: number;
  readonly pods: number;
  /** Switchover requests that reached Patroni. */
  readonly switchovers: number;
  /** Deliveries answered busy (503) while a dead instance's Lease held the cluster. */
  readonly busy: number;
  /** Every delivery the function answered with 503 (busy, or a request to the API server failed), by time. */
  readonly unavailableAt: readonly number[];
  /** When each delivery was answered 200 (a step taken, waiting or up to date). */
  readonly answeredAt: readonly number[];
  /** Lease time the injected clock skipped instead of waiting it out. */
  readonly leaseSkippedMs: number;
  readonly ms: number;
  /** Every broken promise of the rollout; empty when it held. */
  readonly failures: readonly string[];
}

interface Instance {
  readonly deps: RollingDeps;
  crashed: boolean;
  writes: number;
  /** Of those, writes to the Lease: its acquisition, renewals while a step is slower than a third of the Lease, its release. */
  leaseWrites: number;
}

interface Tally {
  podDeletions: number;
  switchovers: number;
}

/** One invocation's world: clients that die after `crashAfter` writes (never when undefined). */
function instance(run: RolloutCrashRun, crashAfter: number | undefined, world: { tally: Tally; clock: LeaseClock }): Instance {
  const { tally, clock } = world;
  const self: Instance = { deps: undefined as unknown as RollingDeps, crashed: false, writes: 0, leaseWrites: 0 };
  const dieUnlessAllowed = (write: boolean): void => {
    if (self.crashed) throw new Error('this instance is dead');
    if (!write) return;
    run.beforeWrite?.(self.writes);
    if (crashAfter !== undefined && self.writes >= crashAfter) {
      self.crashed = true;
      throw new Error(`crashed after ${crashAfter} write(s)`);
    }
    self.writes++;
  };
  const kube = new KubeClient(run.functionKc, {
    observe: (verb, kind) => {
      dieUnlessAllowed(KUBE_WRITES.has(verb));
      if (KUBE_WRITES.has(verb) && kind === 'Lease') self.leaseWrites++;
      if (verb === 'delete' && kind === 'Pod') tally.podDeletions++;
    },
  });
  const real = new PatroniClient();
  const guarded =
    <A extends unknown[], T>(write: boolean, call: (...args: A) => Promise<T>) =>
    (...args: A): Promise<T> => {
      dieUnlessAllowed(write);
      return call(...args);
    };
  const patroni: PatroniApi = {
    cluster: guarded(false, (base) => real.cluster(base)),
    member: guarded(false, (base) => real.member(base)),
    config: guarded(false, (base) => real.config(base)),
    patchConfig: guarded(true, (base, patch) => real.patchConfig(base, patch)),
    switchover: guarded(true, (base, body) => {
      tally.switchovers++;
      return real.switchover(base, body);
    }),
    restart: guarded(true, (base) => real.restart(base)),
  };
  const now = (): Date => clock.now();
  const config = run.cluster.config;
  Object.assign(self, {
    deps: {
      kube,
      patroni,
      loadConfig: () => Promise.resolve({ config, problems: [] }),
      recordEvent: eventRecorder({ kube, component: 'pgfn-rolling-update', now }),
      // A CloudEvent to the Broker is an effect like any write.
      emit: guarded(true, () => Promise.resolve()),
      now,
      holder: `crash-rollout-${randomUUID().slice(0, 8)}`,
      podTimeoutMs: 300_000,
      leaseSeconds: run.leaseSeconds,
    } satisfies RollingDeps,
  });
  return self;
}

/** Real time plus the Lease time skipped so far (only ever moves forward). */
class LeaseClock {
  skippedMs = 0;
  now(): Date {
    return new Date(Date.now() + this.skippedMs);
  }
  /** Moves past `expiresAt` when it is still ahead. */
  skipTo(expiresAt: number): void {
    const ahead = expiresAt - this.now().getTime();
    if (ahead >= 0) this.skippedMs += ahead + 1;
  }
}

/** When a Lease expires (renewed or acquired, plus its duration), as ClusterLease judges it. */
function leaseExpiry(lease: LeaseView | undefined): number {
  const renewed = Date.parse(lease?.spec?.renewTime ?? lease?.spec?.acquireTime ?? '');
  return renewed + (lease?.spec?.leaseDurationSeconds ?? 0) * 1000;
}

type Pg = { metadata?: { generation?: number }; status?: { conditions?: Condition[] } };
interface LeaseView {
  spec?: { holderIdentity?: string; renewTime?: string; acquireTime?: string; leaseDurationSeconds?: number };
}

/** Flags every pod of the cluster (as reconcile does after a template change) and drives the rollout to its end. */
export async function driveRollout(run: RolloutCrashRun): Promise<RolloutCrashReport> {
  const admin = new KubeClient(run.kc);
  const { namespace, name } = run.cluster;
  const log = createLogger('crash-rollout', 'warn');
  const pods = async (): Promise<V1Pod[]> => admin.list<V1Pod>('v1', 'Pod', namespace, `application=spilo,cluster-name=${name}`);
  const original = new Map((await pods()).map((p) => [p.metadata?.name ?? '', p.metadata?.uid ?? '']));
  for (const pod of original.keys())
    await admin.patchMetadata(
      { apiVersion: 'v1', kind: 'Pod', namespace, name: pod },
      { annotations: { [ROLLING_UPDATE_REQUIRED_ANNOTATION]: 'true' } },
    );
  const started = Date.now();
  const deadline = started + (run.timeoutMs ?? 600_000);
  const tally: Tally = { podDeletions: 0, switchovers: 0 };
  const clock = new LeaseClock();
  const leaseRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name: clusterLeaseName(name, 'rolling-update') };
  const readLease = (): Promise<(LeaseView & { apiVersion: string; kind: string }) | undefined> =>
    admin.get<LeaseView & { apiVersion: string; kind: string }>(leaseRef);
  const failures: string[] = [];
  let crashes = 0;
  let busy = 0;
  const unavailableAt: number[] = [];
  const answeredAt: number[] = [];
  let maxStepWrites = 0;
  let armed = true;
  let backoff = 500;
  let lastError = '';
  const done = async (): Promise<boolean> => {
    const now = await pods();
    const cluster = await admin.get<Pg & { apiVersion: string; kind: string }>({
      apiVersion: API_VERSION,
      kind: POSTGRESQL_KIND,
      namespace,
      name,
    });
    const rolling = cluster?.status?.conditions?.find((c) => c.type === 'RollingUpdate');
    return (
      now.length === original.size &&
      now.every(
        (p) =>
          p.metadata?.uid !== original.get(p.metadata?.name ?? '') &&
          p.metadata?.annotations?.[ROLLING_UPDATE_REQUIRED_ANNOTATION] !== 'true',
      ) &&
      rolling?.status === 'False'
    );
  };
  for (;;) {
    if (Date.now() > deadline) {
      failures.push(`the rollout did not complete within ${run.timeoutMs ?? 600_000} ms (last failure: ${lastError || 'none'})`);
      break;
    }
    const inst = instance(run, armed ? run.crashAfter : undefined, { tally, clock });
    let outcome: AdvanceOutcome | 'crashed' | 'error';
    try {
      outcome = await advance(inst.deps, { namespace, name }, { log });
    } catch (err) {
      // The function's server answers a failed invocation 503 (answerEvent): the Broker redelivers.
      outcome = inst.crashed ? 'crashed' : 'error';
      if (!inst.crashed) lastError = (err as Error).message.slice(0, 300);
      if (!inst.crashed) run.log?.(`503: ${lastError}`);
    }
    if (outcome === 'crashed') {
      crashes++;
      armed = false;
      run.log?.(`killed after ${run.crashAfter} write(s)`);
      continue; // the next event, to a fresh instance
    }
    if (outcome === 'busy' || outcome === 'error') {
      // The handler answers 503 for a busy cluster too; the Broker redelivers with backoff.
      if (outcome === 'busy') {
        busy++;
        // Refused while the dead holder's Lease is valid: the redelivery comes once it has expired.
        // (Unread while the API server is away: then the next delivery simply tries again.)
        clock.skipTo(leaseExpiry(await readLease().catch(() => undefined)));
      }
      unavailableAt.push(Date.now());
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 4000);
      continue;
    }
    // A step's own writes: renewals (beyond acquiring and releasing) come only when the step is slow, on a
    // loaded machine; a crash after one is a crash point like the acquisition's, so they do not count here.
    maxStepWrites = Math.max(maxStepWrites, inst.writes - Math.max(0, inst.leaseWrites - 2));
    answeredAt.push(Date.now());
    backoff = 500;
    if (outcome === 'failed') {
      failures.push('the rollout was reported failed');
      break;
    }
    if (outcome === 'acted') armed = true;
    if (outcome === 'up-to-date' && (await done())) break;
    // Pod events (Patroni's heartbeat) bring the next invocation about a second later.
    await sleep(1000);
  }
  if (tally.podDeletions !== original.size)
    failures.push(`${tally.podDeletions} pod deletions reached the API server for ${original.size} pods`);
  const lease = await readLease();
  const holder = lease?.spec?.holderIdentity;
  // Expired by the functions' clock: what the next invocation would judge.
  if (holder !== undefined && holder !== '' && leaseExpiry(lease) > clock.now().getTime())
    failures.push(`the Lease is still held by ${holder}`);
  return {
    crashes,
    maxStepWrites,
    podDeletions: tally.podDeletions,
    pods: original.size,
    switchovers: tally.switchovers,
    busy,
    unavailableAt,
    answeredAt,
    leaseSkippedMs: clock.skippedMs,
    ms: Date.now() - started,
    failures,
  };
}
