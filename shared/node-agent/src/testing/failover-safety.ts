// Data safety under failover (issue 20, item 4): faults against the master of a real Spilo cluster on
// the node agent, each with a ledger writer committing through the master Service, and a check after
// the cluster is whole again (one master, every replica ready) of which acknowledged rows survived.
//
// Faults, as the node agent can cause them (its sandboxes share the host's network namespace):
//   pod-delete      the master pod deleted (graceful: Patroni hands over on SIGTERM);
//   sandbox-crash   SIGKILL to the pod's sandbox: Patroni and every Postgres process die together (a
//                   container runtime crash); restarted at once. Killing Patroni ends the same way here:
//                   as a PID namespace's first process Patroni forks the working Patroni and exits
//                   when it dies, and the kernel then kills the namespace (Postgres included);
//   postgres-kill   SIGKILL to the master's postmaster only; Patroni stays (restarts it or fails over);
//   patroni-stop    SIGSTOP to the master's Patroni until another member holds the leader lock (or
//                   3 × ttl), then SIGCONT: it wakes up without the lock and demotes its Postgres;
//   network-cut     the master's loopback address cut off for 1.5 × ttl (network-cut.ts): no packet to
//                   or from it, every connection through it aborted. Its Patroni still reaches the DCS
//                   (the API server listens on 127.0.0.1, a connection to it leaves from 127.0.0.1),
//                   so this cuts the master off from its replicas and clients, not from the DCS.
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import pg from 'pg';
import type { NodeAgent } from '../agent.js';
import { LedgerWriter, type LedgerCheck } from './ledger.js';
import { cutAddress } from './network-cut.js';
import { clusterMembers, type MemberView, type SpiloCluster } from './spilo-cluster.js';

export const FAULT_KINDS = ['patroni-stop', 'sandbox-crash', 'postgres-kill', 'pod-delete', 'network-cut'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultOutcome extends LedgerCheck {
  readonly fault: FaultKind;
  readonly oldMaster: string;
  /** The old master pod's uid (a deleted pod comes back under its name with a new one). */
  readonly oldMasterUid: string;
  readonly newMaster: string;
  /** Longest pause between acknowledged writes after the fault, ms. */
  readonly writeGapMs: number;
  /** From the fault to one master with every replica ready again, ms. */
  readonly recoveryMs: number;
}

export interface FaultRun {
  readonly kc: KubeConfig;
  readonly agent: NodeAgent;
  readonly cluster: SpiloCluster;
  readonly fault: FaultKind;
  /** Table the writer fills (one per fault). */
  readonly table: string;
  /** Patroni's ttl, seconds (bounds how long a stopped Patroni stays stopped, and a cut lasts). */
  readonly ttlSeconds: number;
  readonly log?: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last === undefined ? '' : ` (${last instanceof Error ? last.message : JSON.stringify(last)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(250);
  }
}

export interface Whole {
  readonly master: MemberView;
  readonly replicas: MemberView[];
}

/** One row of the master's pg_stat_replication: a standby (Spilo names it by its pod) and its walsender's state. */
export interface StandbyState {
  readonly name: string;
  readonly state: string;
}

/**
 * The cluster is whole when exactly one ready member is labelled master and every other member is a ready
 * replica, and, when the master's standbys are given, each replica streams from that master. Labels and
 * readiness alone are not enough: after a master restarts on a new timeline its replicas stay ready and
 * labelled while they have not yet fetched that timeline; a fault then can make one of them promote onto a
 * timeline with the same number as the lost one, which the old master cannot rejoin (ADR 0114).
 */
export function wholeCluster(o: {
  members: readonly MemberView[];
  instances: number;
  standbys?: readonly StandbyState[];
}): Whole | undefined {
  const masters = o.members.filter((m) => m.role === 'master' && m.ready);
  const replicas = o.members.filter((m) => m.role === 'replica' && m.ready);
  const master = masters[0];
  if (masters.length !== 1 || master === undefined || replicas.length !== o.instances - 1) return undefined;
  const streaming = new Set(o.standbys?.filter((s) => s.state === 'streaming').map((s) => s.name));
  if (o.standbys !== undefined && !replicas.every((r) => streaming.has(r.name))) return undefined;
  return { master, replicas };
}

export interface WaitWholeOptions {
  readonly timeoutMs?: number;
  /** Also require every replica to stream from the master (asks the master's pg_stat_replication). */
  readonly streaming?: boolean;
}

/** The master's walsenders, by the standby's application_name (its pod name under Spilo). */
async function standbysOf(master: MemberView, password: string): Promise<StandbyState[]> {
  const client = await connect(master.ip ?? '', password);
  try {
    const r = await client.query<{ name: string; state: string }>('SELECT application_name AS name, state FROM pg_stat_replication');
    return r.rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Waits for one ready master and every other member a ready replica (and, with `streaming`, replicating from it). */
export async function waitWhole(kc: KubeConfig, cluster: SpiloCluster, options: WaitWholeOptions = {}): Promise<Whole> {
  const instances = cluster.manifest.spec.numberOfInstances ?? 1;
  return until(
    `${cluster.name}: one master and ${instances - 1} ready replicas${options.streaming === true ? ' streaming from it' : ''}`,
    async () => {
      const members = await clusterMembers(kc, cluster.namespace, cluster.name);
      const labelled = wholeCluster({ members, instances });
      if (labelled === undefined || options.streaming !== true) return labelled;
      const standbys = await standbysOf(labelled.master, cluster.password('postgres'));
      const whole = wholeCluster({ members, instances, standbys });
      // Thrown, not returned: `until` quotes the last error when it gives up (which replica was missing).
      if (whole === undefined) throw new Error(`${labelled.master.name}'s standbys: ${JSON.stringify(standbys)}`);
      return whole;
    },
    options.timeoutMs ?? 300_000,
  );
}

/** Children of `pid` whose command name is `comm`. */
function childrenNamed(pid: number, comm: string): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return children.map(Number).filter((child) => {
    try {
      return readFileSync(`/proc/${child}/comm`, 'utf8').trim() === comm;
    } catch {
      return false;
    }
  });
}

// Patroni as the first process of a PID namespace only reaps: it forks the Patroni that works (and
// the postmaster is reparented to it). So the postmaster is a child of the first process, and stopping
// Patroni means stopping both.
const postmasterPid = (init: number): number | undefined => childrenNamed(init, 'postgres')[0];
const patroniPids = (init: number): number[] => [init, ...childrenNamed(init, 'patroni')];

async function connect(ip: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ host: ip, user: 'postgres', password, database: 'postgres', ssl: { rejectUnauthorized: false } });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

interface Injection {
  readonly run: FaultRun;
  readonly master: MemberView;
}

async function inject({ run, master }: Injection): Promise<void> {
  const { kc, agent, cluster, fault } = run;
  const ns = cluster.namespace;
  switch (fault) {
    case 'pod-delete':
      await kc.makeApiClient(CoreV1Api).deleteNamespacedPod({ name: master.name, namespace: ns });
      return;
    case 'sandbox-crash':
      if (agent.crash(ns, master.name) === 0) throw new Error(`${master.name}: no sandbox to crash`);
      return;
    case 'postgres-kill': {
      const patroni = agent.programPid(ns, master.name);
      const postmaster = patroni === undefined ? undefined : postmasterPid(patroni);
      if (postmaster === undefined) throw new Error(`${master.name}: no postmaster found under Patroni (${String(patroni)})`);
      process.kill(postmaster, 'SIGKILL');
      return;
    }
    case 'patroni-stop': {
      const init = agent.programPid(ns, master.name);
      const patroni = init === undefined ? [] : patroniPids(init);
      if (patroni.length < 2) throw new Error(`${master.name}: no working Patroni under the pod's first process (${String(init)})`);
      for (const pid of patroni) process.kill(pid, 'SIGSTOP');
      try {
        // Until another member is labelled master, or long enough for the lock to have expired.
        await until(
          'another member to take the leader lock',
          async () =>
            (await clusterMembers(kc, ns, cluster.name)).some((m) => m.role === 'master' && m.name !== master.name) ? true : undefined,
          run.ttlSeconds * 3000,
        ).catch(() => undefined);
      } finally {
        for (const pid of patroni) process.kill(pid, 'SIGCONT');
      }
      return;
    }
    case 'network-cut': {
      const ip = master.ip;
      if (ip === undefined) throw new Error(`${master.name}: no pod address to cut`);
      const restore = cutAddress(ip);
      try {
        // Past one ttl: long enough for the leader lock to expire, had the cut reached the DCS.
        await until(
          'another member to take the leader lock',
          async () =>
            (await clusterMembers(kc, ns, cluster.name)).some((m) => m.role === 'master' && m.name !== master.name) ? true : undefined,
          run.ttlSeconds * 1500,
        ).catch(() => undefined);
      } finally {
        restore();
      }
      return;
    }
  }
}

/** One fault with a writer running through it; resolves after the check. */
export async function runFault(run: FaultRun): Promise<FaultOutcome> {
  const { kc, agent, cluster } = run;
  const before = await waitWhole(kc, cluster, { streaming: true });
  const password = cluster.password('postgres');
  const writer = new LedgerWriter({
    resolver: agent.resolver,
    host: `${cluster.name}.${cluster.namespace}.svc`,
    user: 'postgres',
    password,
    table: run.table,
  });
  await writer.start();
  try {
    await until('writes before the fault', () => Promise.resolve(writer.acks.length >= 40 ? true : undefined), 120_000);
    const at = Date.now();
    run.log?.(`${run.fault} on ${before.master.name} (${before.master.ip ?? '?'})`);
    await inject({ run, master: before.master });
    // Every fault here breaks the writer's connection sooner or later (a stopped Patroni's Postgres is
    // restarted as a replica when it wakes); only after that is "whole again" news.
    const broke = await until('the writer to notice the fault', () => Promise.resolve(writer.failedSince(at)), 300_000);
    // Whole again, and the writer committing on the master that is now labelled.
    const after = await until(
      'the cluster whole and writes on its master',
      async () => {
        const whole = await waitWhole(kc, cluster, { streaming: true });
        return writer.ackedBy(whole.master.ip ?? '', Math.max(broke, Date.now() - 1000)) ? whole : undefined;
      },
      600_000,
    );
    const recoveryMs = Date.now() - at;
    await writer.stop();
    const client = await connect(after.master.ip ?? '', password);
    try {
      const check = await writer.check(client);
      return {
        fault: run.fault,
        oldMaster: before.master.name,
        oldMasterUid: before.master.uid,
        newMaster: after.master.name,
        writeGapMs: writer.maxGapMs(at),
        recoveryMs,
        ...check,
      };
    } finally {
      await client.end();
    }
  } finally {
    await writer.stop();
  }
}
