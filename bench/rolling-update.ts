// Rolling-update figures on the whole local stack (control plane, node agent with Patroni 3.0.2 +
// PostgreSQL 15, real receive adapters → local broker → reconcile and rolling-update as their own
// ServiceAccounts). Per run: a 3-instance synchronous_mode cluster with a writer committing every
// 50 ms gets a new image (minor upgrade = rotation with one switchover): longest write gap, rollout
// time (edit → every pod rotated and RollingUpdate False), acknowledged rows lost; then max_connections
// (restarts) and work_mem (reload): time from the edit to the value live on every member.
// Usage: npm run bench:rolling-update -- [--runs N] [--out bench/results/rolling-update.json]
// Prints a markdown table; writes the raw figures as JSON. Needs root (the node agent).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { ControlPlane } from '@pgfn/controlplane';
import { startNodeAgent, type NodeAgent } from '@pgfn/node-agent';
import { clusterMembers, FailoverWriter } from '@pgfn/node-agent/testing';
import { identityForFunction, identityForServiceAccount, startPipeline } from '@pgfn/pipeline';
import pg from 'pg';
import { machine } from './lib/report.js';
import { sleep, until } from './lib/proc.js';
import { prepareOperatorControlPlane } from './lib/operator-stack.js';

interface Figures {
  run: number;
  rolloutMs: number;
  writeGapMs: number;
  rowsAcknowledged: number;
  rowsLost: number;
  switchovers: number;
  maxConnectionsLiveMs: number;
  workMemLiveMs: number;
}

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '1' }, out: { type: 'string', default: 'bench/results/rolling-update.json' } },
});
const NS = 'bench-roll';
const PG_API = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls', namespace: NS };

async function query(ip: string, password: string, text: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({
    host: ip,
    user: 'postgres',
    password,
    database: 'postgres',
    ssl: { rejectUnauthorized: false },
    connectionTimeoutMillis: 2000,
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(text)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

interface Env {
  readonly kc: k8s.KubeConfig;
  readonly agent: NodeAgent;
}

async function edit(kc: k8s.KubeConfig, name: string, change: (spec: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const cur = (await custom.getNamespacedCustomObject({ ...PG_API, name })) as { spec: Record<string, unknown> };
  await custom.replaceNamespacedCustomObject({ ...PG_API, name, body: { ...cur, spec: change(cur.spec) } });
}

async function measure(env: Env, run: number): Promise<Figures> {
  const { kc, agent } = env;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const name = `acid-bench${run}`;
  const body = {
    apiVersion: 'acid.zalan.do/v1',
    kind: 'postgresql',
    metadata: { name, namespace: NS },
    spec: {
      teamId: 'acid',
      numberOfInstances: 3,
      dockerImage: 'ghcr.io/zalando/spilo-15:3.0-p1',
      postgresql: { version: '15', parameters: { max_connections: '100', work_mem: '4MB' } },
      volume: { size: '1Gi' },
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4, synchronous_mode: true },
    },
  };
  await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({ ...PG_API, body });
  const ready = async (): Promise<{ ips: string[]; master: string } | undefined> => {
    const members = await clusterMembers(kc, NS, name);
    const master = members.find((m) => m.role === 'master' && m.ready);
    return members.length === 3 && members.every((m) => m.ready && m.role !== undefined) && master !== undefined
      ? { ips: members.map((m) => m.ip ?? ''), master: master.name }
      : undefined;
  };
  await until('3 members', ready, 300_000);
  const secret = await core.readNamespacedSecret({ namespace: NS, name: `postgres.${name}.credentials.postgresql.acid.zalan.do` });
  const password = Buffer.from(secret.data?.['password'] ?? '', 'base64').toString();
  const writer = new FailoverWriter({ resolver: agent.resolver, host: `${name}.${NS}.svc`, user: 'postgres', password });
  await writer.start();
  await sleep(2000);
  const pods = async (): Promise<k8s.V1Pod[]> =>
    (await core.listNamespacedPod({ namespace: NS, labelSelector: `application=spilo,cluster-name=${name}` })).items;
  const started = Date.now();
  await edit(kc, name, (spec) => ({ ...spec, dockerImage: 'ghcr.io/zalando/spilo-15:3.0-p2' }));
  await until(
    'every pod rotated',
    async () => {
      const all = await pods();
      const cr = (await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...PG_API, name })) as {
        status?: { conditions?: { type: string; status: string }[] };
      };
      const rolled =
        all.length === 3 &&
        all.every(
          (p) =>
            p.spec?.containers[0]?.image?.endsWith('3.0-p2') &&
            p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
      return rolled && cr.status?.conditions?.find((c) => c.type === 'RollingUpdate')?.status === 'False' ? true : undefined;
    },
    900_000,
  );
  const rolloutMs = Date.now() - started;
  await sleep(1000);
  await writer.stop();
  const after = await until('3 members again', ready, 120_000);
  const masterIp = (await clusterMembers(kc, NS, name)).find((m) => m.name === after.master)?.ip ?? '';
  const client = new pg.Client({ host: masterIp, user: 'postgres', password, database: 'postgres', ssl: { rejectUnauthorized: false } });
  client.on('error', () => undefined);
  await client.connect();
  const lost = await writer.missing(client);
  await client.end();
  const events = (await core.listNamespacedEvent({ namespace: NS })).items.filter(
    (e) => e.involvedObject.name === name && e.source?.component === 'pgfn-rolling-update' && e.reason === 'Switchover',
  );
  const live = async (param: string, value: string): Promise<number> => {
    const t0 = Date.now();
    await edit(kc, name, (spec) => {
      const postgresql = spec['postgresql'] as { parameters: Record<string, string> };
      return { ...spec, postgresql: { ...postgresql, parameters: { ...postgresql.parameters, [param]: value } } };
    });
    await until(
      `${param} = ${value} everywhere`,
      async () => {
        for (const ip of after.ips) if ((await query(ip, password, `SHOW ${param}`))[0]?.[param] !== value) return undefined;
        return true;
      },
      300_000,
      200,
    );
    return Date.now() - t0;
  };
  const maxConnectionsLiveMs = await live('max_connections', '150');
  const workMemLiveMs = await live('work_mem', '8MB');
  await kc.makeApiClient(k8s.CustomObjectsApi).deleteNamespacedCustomObject({ ...PG_API, name });
  return {
    run,
    rolloutMs,
    writeGapMs: writer.maxGapMs(started),
    rowsAcknowledged: writer.acks.length,
    rowsLost: lost.length,
    switchovers: events.length,
    maxConnectionsLiveMs,
    workMemLiveMs,
  };
}

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const startedOn = machine();
  const root = mkdtempSync(join(tmpdir(), 'pgfn-bench-roll-'));
  const cp = await ControlPlane.start({ dir: join(root, 'cp') });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  let agent: NodeAgent | undefined;
  let stopPipeline: (() => Promise<void>) | undefined;
  const figures: Figures[] = [];
  try {
    await prepareOperatorControlPlane({ cp, kc, namespace: NS });
    agent = await startNodeAgent({
      kubeconfig: cp.kubeconfig,
      dataDir: join(root, 'data'),
      logDir: join(root, 'logs'),
      ipRange: '127.0.91.0/24',
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
      idleMs: 600_000,
    });
    stopPipeline = () => pipeline.stop();
    for (let run = 1; run <= runs; run++) {
      const f = await measure({ kc, agent }, run);
      console.error(`run ${run}: ${JSON.stringify(f)}`);
      figures.push(f);
    }
  } finally {
    await stopPipeline?.();
    await agent?.stop();
    await cp.stop();
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const m = (k: keyof Figures): number => median(figures.map((f) => f[k]));
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const lost = figures.reduce((n, f) => n + f.rowsLost, 0);
  const acked = figures.reduce((n, f) => n + f.rowsAcknowledged, 0);
  const row = [
    s(m('writeGapMs')),
    s(m('rolloutMs')),
    m('switchovers'),
    `${lost} of ${acked}`,
    s(m('maxConnectionsLiveMs')),
    s(m('workMemLiveMs')),
  ];
  console.log(
    [
      `Rolling update of a 3-instance synchronous_mode cluster, writer every 50 ms (median of ${runs} run${runs === 1 ? '' : 's'}).`,
      '',
      '| longest write gap | rollout time | switchovers | acknowledged rows lost | max_connections live (restarts) | work_mem live |',
      '|---|---|---|---|---|---|',
      `| ${row.join(' | ')} |`,
    ].join('\n'),
  );
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(
    values.out,
    `${JSON.stringify({ machine: startedOn, command: `npm run bench:rolling-update -- --runs ${runs}`, runs, figures }, null, 2)}\n`,
  );
  rmSync(root, { recursive: true, force: true });
  // Exit in the same tick: a late write of a stopped component into the removed folder would throw.
  process.exit(0);
}

await main();
