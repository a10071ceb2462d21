// Node drain figures on the whole local stack on 3 local nodes (ADR 0075, 0076): control plane, node
// agents with Patroni + PostgreSQL 15, real receive adapters (Nodes among them) → local broker →
// reconcile and rolling-update as their own ServiceAccounts.
//   1. A 3-instance cluster (one pod per node), a writer committing every 50 ms; `kubectl drain` of the
//      master's node (PDB respected): longest write gap, switchovers, drain time, rows lost.
//   2. 10 two-instance clusters whose masters all run on one node; `kubectl drain` of that node: time
//      from the drain to its end (every master moved with a switchover, the node empty).
// Usage: npm run bench:drain -- [--clusters 10] [--out bench/results/drain.json]
// Prints a markdown table; writes the raw figures as JSON. Needs root (the node agents).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { ControlPlane } from '@pgfn/controlplane';
import { startLocalNodes, type LocalNodes } from '@pgfn/node-agent';
import { clusterMembers, FailoverWriter } from '@pgfn/node-agent/testing';
import { identityForFunction, identityForServiceAccount, startPipeline } from '@pgfn/pipeline';
import pg from 'pg';
import { sleep, until } from './lib/proc.js';
import { prepareOperatorControlPlane } from './lib/operator-stack.js';

const { values } = parseArgs({
  options: { clusters: { type: 'string', default: '10' }, out: { type: 'string', default: 'bench/results/drain.json' } },
});
const NS = 'bench-drain';
const PG_API = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls', namespace: NS };
const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

interface Env {
  readonly cp: ControlPlane;
  readonly kc: k8s.KubeConfig;
  readonly nodes: LocalNodes;
}

function cluster(name: string, instances: number): Record<string, unknown> {
  return {
    apiVersion: 'acid.zalan.do/v1',
    kind: 'postgresql',
    metadata: { name, namespace: NS },
    spec: {
      teamId: 'acid',
      numberOfInstances: instances,
      dockerImage: 'ghcr.io/zalando/spilo-15:3.0-p1',
      postgresql: { version: '15' },
      volume: { size: '1Gi', storageClass: 'pgfn-local' },
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
    },
  };
}

/** `instances` ready members with one master, on distinct nodes: the master's node. */
async function settled(kc: k8s.KubeConfig, name: string, instances: number, timeoutMs: number): Promise<{ master: string; node: string }> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return until(
    `${name}: ${instances} ready members`,
    async () => {
      const members = await clusterMembers(kc, NS, name);
      const master = members.find((m) => m.role === 'master' && m.ready);
      if (members.length !== instances || !members.every((m) => m.ready && m.role !== undefined) || master === undefined) return undefined;
      const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: `cluster-name=${name}` })).items;
      if (new Set(pods.map((p) => p.spec?.nodeName)).size !== instances) return undefined;
      return { master: master.name, node: pods.find((p) => p.metadata?.name === master.name)?.spec?.nodeName ?? '' };
    },
    timeoutMs,
    500,
  );
}

async function switchovers(kc: k8s.KubeConfig, name?: string): Promise<number> {
  const events = (await kc.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: NS })).items;
  return events.filter(
    (e) =>
      e.source?.component === 'pgfn-rolling-update' &&
      e.reason === 'MasterMigration' &&
      (name === undefined || e.involvedObject.name === name),
  ).length;
}

async function drain(env: Env, node: string): Promise<number> {
  const started = Date.now();
  await env.cp.kubectl(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=900s']);
  return Date.now() - started;
}

async function uncordon(kc: k8s.KubeConfig, node: string): Promise<void> {
  await kc.makeApiClient(k8s.CoreV1Api).patchNode({ name: node, body: { spec: { unschedulable: null } } }, merge);
}

interface OneCluster {
  drainMs: number;
  writeGapMs: number;
  rowsAcknowledged: number;
  rowsLost: number;
  switchovers: number;
  settledMs: number;
}

async function oneCluster(env: Env): Promise<OneCluster> {
  const { kc } = env;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const name = 'acid-drain';
  await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({ ...PG_API, body: cluster(name, 3) });
  const before = await settled(kc, name, 3, 600_000);
  const secret = await core.readNamespacedSecret({ namespace: NS, name: `postgres.${name}.credentials.postgresql.acid.zalan.do` });
  const password = Buffer.from(secret.data?.['password'] ?? '', 'base64').toString();
  const agent = env.nodes.agents[0];
  if (agent === undefined) throw new Error('no node');
  const writer = new FailoverWriter({ resolver: agent.resolver, host: `${name}.${NS}.svc`, user: 'postgres', password });
  await writer.start();
  await sleep(2000);
  const started = Date.now();
  const drainMs = await drain(env, before.node);
  // The old master, evicted, comes back on the third node with a fresh copy of the data.
  await uncordon(kc, before.node);
  const after = await settled(kc, name, 3, 600_000);
  const settledMs = Date.now() - started;
  await sleep(1000);
  await writer.stop();
  const masterIp = (await clusterMembers(kc, NS, name)).find((m) => m.name === after.master)?.ip ?? '';
  const client = new pg.Client({ host: masterIp, user: 'postgres', password, database: 'postgres', ssl: { rejectUnauthorized: false } });
  client.on('error', () => undefined);
  await client.connect();
  const lost = await writer.missing(client);
  await client.end();
  const figures = {
    drainMs,
    writeGapMs: writer.maxGapMs(started),
    rowsAcknowledged: writer.acks.length,
    rowsLost: lost.length,
    switchovers: await switchovers(kc, name),
    settledMs,
  };
  await kc.makeApiClient(k8s.CustomObjectsApi).deleteNamespacedCustomObject({ ...PG_API, name });
  await until('acid-drain gone', async () => ((await clusterMembers(kc, NS, name)).length === 0 ? true : undefined), 300_000, 1000);
  return figures;
}

interface ManyMasters {
  clusters: number;
  drainMs: number;
  switchovers: number;
}

async function manyMasters(env: Env, count: number): Promise<ManyMasters> {
  const { kc, nodes } = env;
  const [x, y, z] = nodes.agents.map((a) => a.nodeName) as [string, string, string];
  const core = kc.makeApiClient(k8s.CoreV1Api);
  // Masters bootstrap first: with only x schedulable every pod-0 (the first master) lands there.
  for (const n of [y, z]) await core.patchNode({ name: n, body: { spec: { unschedulable: true } } }, merge);
  const names = Array.from({ length: count }, (_, i) => `acid-many${i}`);
  for (const name of names)
    await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({ ...PG_API, body: cluster(name, 2) });
  await until(
    `every pod-0 running on ${x}`,
    async () => {
      const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'application=spilo' })).items;
      const first = pods.filter(
        (p) => p.metadata?.name?.endsWith('-0') === true && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return first.length === count ? true : undefined;
    },
    1_200_000,
    1000,
  );
  await uncordon(kc, y);
  for (const name of names) {
    const s = await settled(kc, name, 2, 1_200_000);
    if (s.node !== x) throw new Error(`${name}: master on ${s.node}, not ${x}`);
  }
  await uncordon(kc, z);
  const before = await switchovers(kc);
  const drainMs = await drain(env, x);
  return { clusters: count, drainMs, switchovers: (await switchovers(kc)) - before };
}

async function main(): Promise<void> {
  const count = Number(values.clusters);
  const root = mkdtempSync(join(tmpdir(), 'pgfn-bench-drain-'));
  const loadBefore = loadavg();
  const cp = await ControlPlane.start({ dir: join(root, 'cp') });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  let nodes: LocalNodes | undefined;
  let stopPipeline: (() => Promise<void>) | undefined;
  let one: OneCluster | undefined;
  let many: ManyMasters | undefined;
  try {
    await prepareOperatorControlPlane({ cp, kc, namespace: NS, kubernetes: { enable_pod_antiaffinity: true } });
    nodes = await startLocalNodes({
      count: 3,
      kubeconfig: cp.kubeconfig,
      dataDir: join(root, 'data'),
      logDir: join(root, 'logs'),
      firstOctet: 92,
    });
    const id = { admin: kc, dir: root };
    const env = { OPERATOR_NAMESPACE: 'pgfn-system', POSTGRES_OPERATOR_CONFIGURATION_OBJECT: 'bench', WATCHED_NAMESPACE: NS };
    const functions: Record<string, { env: Record<string, string> }> = {};
    for (const fn of ['reconcile', 'rolling-update'])
      functions[fn] = { env: { ...env, KUBECONFIG: (await identityForFunction(fn, id)).file } };
    const source = await identityForServiceAccount('pgfn-apiserver-source', 'pgfn-system', id);
    const pipeline = await startPipeline({
      kubeconfig: cp.kubeconfig,
      adapterKubeconfig: source.file,
      logDir: join(root, 'logs', 'pipeline'),
      functions,
      idleMs: 900_000,
    });
    stopPipeline = () => pipeline.stop();
    one = await oneCluster({ cp, kc, nodes });
    console.error(`one cluster: ${JSON.stringify(one)}`);
    many = await manyMasters({ cp, kc, nodes }, count);
    console.error(`${count} masters: ${JSON.stringify(many)}`);
  } finally {
    await stopPipeline?.();
    await nodes?.stop();
    await cp.stop();
  }
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  console.log(
    [
      'Draining nodes on 3 local nodes (real Patroni + PostgreSQL 15, kubectl drain respecting the PDB).',
      '',
      '| 3-instance cluster: longest write gap | switchovers | drain time | rows lost | node with 10 masters: drain time | switchovers |',
      '|---|---|---|---|---|---|',
      [s(one.writeGapMs), one.switchovers, s(one.drainMs), `${one.rowsLost} of ${one.rowsAcknowledged}`, s(many.drainMs), many.switchovers]
        .join(' | ')
        .replace(/^/, '| ') + ' |',
    ].join('\n'),
  );
  mkdirSync(dirname(values.out), { recursive: true });
  // The machine is shared: the 1/5/15-minute load averages before and after say how loaded it was.
  const load = { before: loadBefore.map((l) => Number(l.toFixed(2))), after: loadavg().map((l) => Number(l.toFixed(2))) };
  writeFileSync(
    values.out,
    JSON.stringify({ date: new Date().toISOString(), loadAverage: load, oneCluster: one, manyMasters: many }, null, 2),
  );
  // The logs stay (node agents, pods, functions) to explain an odd figure; the data and control plane go.
  for (const d of ['data', 'cp']) rmSync(join(root, d), { recursive: true, force: true });
  console.error(`logs kept in ${join(root, 'logs')}`);
  process.exit(0);
}

await main();
