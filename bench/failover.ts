// Failover figures of a real 3-instance Spilo cluster on the node agent (Patroni 3.0.2 + PostgreSQL 15
// from Debian, Kubernetes DCS on our own control plane), for upstream's default Patroni timings and
// for tuned ones:
//   - time from applying the cluster's objects to the master accepting writes through its Service;
//   - write gap when the master pod is deleted (graceful: Patroni hands over);
//   - write gap when the master's sandbox is SIGKILLed and stays down (a node failure: the leader
//     lock must expire);
//   - write gap when the master is SIGKILLed and restarted at once (kubelet's first restart);
// with a client committing a row every 50 ms and checking afterwards that no acknowledged row is lost.
// Usage: node --import tsx bench/failover.ts [--runs N] [--profiles default,tuned]
// Prints a markdown table and the raw figures as JSON. Needs root (the agent creates namespaces).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ControlPlane } from '@pgfn/controlplane';
import { startNodeAgent, type NodeAgent } from '@pgfn/node-agent';
import { applySpiloCluster, clusterMembers, FailoverWriter, type MemberView, type SpiloCluster } from '@pgfn/node-agent/testing';
import pg from 'pg';
import { sleep, until } from './lib/proc.js';

interface Profile {
  readonly name: string;
  readonly patroni: { ttl: number; loop_wait: number; retry_timeout: number };
}

const PROFILES: Record<string, Profile> = {
  default: { name: 'default (ttl 30, loop_wait 10, retry_timeout 10)', patroni: { ttl: 30, loop_wait: 10, retry_timeout: 10 } },
  tuned: { name: 'tuned (ttl 10, loop_wait 2, retry_timeout 4)', patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 } },
};

interface Figures {
  profile: string;
  run: number;
  bootstrapToWritesMs: number;
  gracefulGapMs: number;
  crashGapMs: number;
  crashRestartGapMs: number;
  lostRows: number;
}

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '1' }, profiles: { type: 'string', default: 'default,tuned' } },
});

interface RolesWanted {
  readonly kc: KubeConfig;
  readonly ns: string;
  readonly cluster: string;
  readonly replicas: number;
  /** A pod that must not be the master (the one just disrupted). */
  readonly not?: string;
}

async function roles({ kc, ns, cluster, replicas, not }: RolesWanted): Promise<{ master: MemberView; replicas: MemberView[] }> {
  return until(
    `one master and ${replicas} replicas`,
    async () => {
      const members = await clusterMembers(kc, ns, cluster);
      const masters = members.filter((m) => m.role === 'master' && m.ready);
      const ready = members.filter((m) => m.role === 'replica' && m.ready);
      const master = masters[0];
      return masters.length === 1 && master !== undefined && master.name !== not && ready.length === replicas
        ? { master, replicas: ready }
        : undefined;
    },
    300_000,
    250,
  );
}

async function client(ip: string, password: string): Promise<pg.Client> {
  const c = new pg.Client({
    host: ip,
    user: 'postgres',
    password,
    database: 'postgres',
    ssl: { rejectUnauthorized: false },
    connectionTimeoutMillis: 2000,
  });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** Runs one disruption with a writer and returns the write gap after it and the rows lost. */
interface Disruption {
  readonly kc: KubeConfig;
  readonly agent: NodeAgent;
  readonly cluster: SpiloCluster;
  readonly table: string;
  readonly act: (master: MemberView) => void | Promise<void>;
  /** Whether another pod must become master afterwards. */
  readonly otherMaster: boolean;
}

async function disrupt({ kc, agent, cluster, table, act, otherMaster }: Disruption): Promise<{ gap: number; lost: number }> {
  const ns = cluster.namespace;
  const before = await roles({ kc, ns, cluster: cluster.name, replicas: 2 });
  const password = cluster.password('postgres');
  const writer = new FailoverWriter({ resolver: agent.resolver, host: `${cluster.name}.${ns}.svc`, user: 'postgres', password, table });
  await writer.start();
  try {
    await sleep(3000);
    const at = Date.now();
    await act(before.master);
    const after = otherMaster ? await roles({ kc, ns, cluster: cluster.name, replicas: 1, not: before.master.name }) : undefined;
    await until(
      'writes after the disruption',
      () => Promise.resolve(writer.acks.some((a) => a.at > at + 200 && (after === undefined || a.server === after.master.ip)) || undefined),
      300_000,
      100,
    );
    await sleep(2000);
    await writer.stop();
    const current = await roles({ kc, ns, cluster: cluster.name, replicas: 2 });
    const c = await client(current.master.ip ?? '', password);
    try {
      return { gap: writer.maxGapMs(at), lost: (await writer.missing(c)).length };
    } finally {
      await c.end();
    }
  } finally {
    await writer.stop();
  }
}

async function measure(kc: KubeConfig, agent: NodeAgent, profile: Profile, run: number): Promise<Figures> {
  const core = kc.makeApiClient(CoreV1Api);
  const ns = `bench-${profile.patroni.ttl}-${run}-${Date.now() % 100000}`;
  await core.createNamespace({ body: { metadata: { name: ns } } });
  try {
    const started = Date.now();
    const cluster = await applySpiloCluster(kc, { namespace: ns, instances: 3, patroni: profile.patroni });
    const password = cluster.password('postgres');
    // The first write through the master Service, as an application would see it.
    await until(
      'the master to accept writes',
      async () => {
        const [ip] = await agent.resolver.resolve(`${cluster.name}.${ns}.svc`);
        if (ip === undefined) return undefined;
        const c = await client(ip, password);
        try {
          await c.query('CREATE TABLE IF NOT EXISTS bench_first (x int)');
          return true;
        } finally {
          await c.end();
        }
      },
      300_000,
      100,
    );
    const bootstrapToWritesMs = Date.now() - started;
    const graceful = await disrupt({
      kc,
      agent,
      cluster,
      table: 'graceful_probe',
      act: async (m) => {
        await core.deleteNamespacedPod({ name: m.name, namespace: ns });
      },
      otherMaster: true,
    });
    const holdMs = Math.max(profile.patroni.ttl * 3, 30) * 1000;
    const crash = await disrupt({
      kc,
      agent,
      cluster,
      table: 'crash_probe',
      act: (m) => {
        agent.crash(ns, m.name, { holdMs });
      },
      otherMaster: true,
    });
    const restart = await disrupt({
      kc,
      agent,
      cluster,
      table: 'restart_probe',
      act: (m) => {
        agent.crash(ns, m.name);
      },
      otherMaster: false,
    });
    await kc.makeApiClient(AppsV1Api).deleteNamespacedStatefulSet({ name: cluster.name, namespace: ns });
    await until('pods gone', async () => ((await clusterMembers(kc, ns, cluster.name)).length === 0 ? true : undefined), 300_000, 500);
    await core.deleteCollectionNamespacedPersistentVolumeClaim({ namespace: ns });
    return {
      profile: profile.name,
      run,
      bootstrapToWritesMs,
      gracefulGapMs: graceful.gap,
      crashGapMs: crash.gap,
      crashRestartGapMs: restart.gap,
      lostRows: graceful.lost + crash.lost + restart.lost,
    };
  } finally {
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const profiles = (values.profiles ?? '')
    .split(',')
    .map((p) => PROFILES[p.trim()])
    .filter((p): p is Profile => p !== undefined);
  const root = mkdtempSync(join(tmpdir(), 'pgfn-bench-failover-'));
  const cp = await ControlPlane.start({ dir: join(root, 'cp'), removeOnStop: false });
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  const agent = await startNodeAgent({
    kubeconfig: cp.kubeconfig,
    dataDir: join(root, 'data'),
    logDir: join(root, 'logs'),
    ipRange: '127.0.90.0/24',
  });
  const figures: Figures[] = [];
  try {
    for (const profile of profiles) {
      for (let run = 1; run <= runs; run++) {
        const f = await measure(kc, agent, profile, run);
        console.error(`${profile.name} run ${run}: ${JSON.stringify(f)}`);
        figures.push(f);
      }
    }
  } finally {
    await agent.stop();
    await cp.stop();
  }
  const lines = [
    `Failover on the node agent: 3 instances, a writer committing every 50 ms (median of ${runs} run${runs === 1 ? '' : 's'}).`,
    '',
    [
      '| Patroni timings | apply → master accepts writes | write gap, master pod deleted',
      'write gap, master crashed and held down | write gap, master crashed and restarted at once | acknowledged rows lost |',
    ].join(' | '),
    '|---|---|---|---|---|---|',
  ];
  for (const profile of profiles) {
    const mine = figures.filter((f) => f.profile === profile.name);
    const m = (k: keyof Figures): number => median(mine.map((f) => f[k] as number));
    const cells = [
      profile.name,
      seconds(m('bootstrapToWritesMs')),
      seconds(m('gracefulGapMs')),
      seconds(m('crashGapMs')),
      seconds(m('crashRestartGapMs')),
      mine.reduce((n, f) => n + f.lostRows, 0),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  console.log(lines.join('\n'));
  console.log(JSON.stringify({ date: new Date().toISOString(), runs, figures }, null, 2));
  rmSync(root, { recursive: true, force: true });
}

await main();
