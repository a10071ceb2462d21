// bench:upgrade — a major version upgrade (issue 17) of a 2-instance cluster holding a --size-mib
// database (default 1024), through the real path: a real Spilo cluster on the node agent (Patroni,
// PostgreSQL 15 from Debian, --to from the cached wheels), the manifest edited to the new version,
// the pods flagged as reconcile flags them, and rolling-update's advance() run step by step until its
// in-place upgrade (inplace_upgrade.py exec'd in the primary: pg_upgrade --link, replica re-synced,
// ANALYZE) has finished. A writer commits every 50 ms through the master Service the whole time.
// Figures: total time (edit → every member on the new major), the rotation to the new PGVERSION and
// its write gap, the upgrade step and its write gap, pg_upgrade --link, the replica's re-sync, ANALYZE.
// Backups are not configured here (the base backup before an upgrade is bench:backup-verify's
// on-demand backup figure). Prints a markdown table and writes bench/results/upgrade.json.
// Run: nice npm run bench:upgrade [-- --size-mib 1024 --to 17]   (root; hold flock /tmp/pgfn-realpg.lock)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ControlPlane } from '@pgfn/controlplane';
import { createLogger, eventRecorder, type EventRecord } from '@pgfn/fn-runtime';
import { KubeClient, podExec, type PodExec } from '@pgfn/kube';
import { startNodeAgent } from '@pgfn/node-agent';
import { applySpiloCluster, clusterMembers, FailoverWriter, type SpiloClusterSpec } from '@pgfn/node-agent/testing';
import { PatroniClient, patroniUrl } from '@pgfn/patroni';
import pg from 'pg';
import { advance } from '../functions/rolling-update/src/index.js';
import { ensureCrds } from '../test/crds/install.js';
import { arg, fixed, machine, table, writeResult } from './lib/report.js';
import { pgUpgradeSeconds, writeGapMs } from './lib/upgrade-figures.js';
import { sleep, until } from './lib/proc.js';

const NS = 'bench-upgrade';
const NAME = 'acid-upgrade';
const sizeMib = Number(arg('size-mib', '1024'));
const to = arg('to', '17');
const patroni = new PatroniClient();

const root = mkdtempSync(join(tmpdir(), 'pgfn-bench-upgrade-'));
const cp = await ControlPlane.start({ dir: join(root, 'cp'), removeOnStop: false });
const agent = await startNodeAgent({
  kubeconfig: cp.kubeconfig,
  nodeName: 'pgfn-bench-upgrade',
  dataDir: join(root, 'data'),
  logDir: join(root, 'logs'),
});
try {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  await ensureCrds(kc);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const spec = (version: string): SpiloClusterSpec => ({
    namespace: NS,
    name: NAME,
    instances: 2,
    version,
    patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
    config: { majorVersionUpgradeMode: 'manual' },
  });
  let cluster = await applySpiloCluster(kc, spec('15'));
  const kube = new KubeClient(kc);
  await kube.apply({ ...cluster.manifest, metadata: { name: NAME, namespace: NS } } as never);
  const password = cluster.password('postgres');

  /** Both members running, the replica streaming and caught up (the upgrade's precondition is ≤ 16 MiB). */
  const healthy = async (): Promise<{ master: string; replica: string; ips: Map<string, string> } | undefined> => {
    const members = await clusterMembers(kc, NS, NAME);
    const master = members.find((m) => m.role === 'master' && m.ready);
    const replica = members.find((m) => m.role === 'replica' && m.ready);
    if (members.length !== 2 || master?.ip === undefined || replica?.ip === undefined) return undefined;
    const view = await patroni.cluster(patroniUrl(master.ip, 8008));
    const caughtUp = view.members.every(
      (m) => ['running', 'streaming'].includes(m.state) && (m.role === 'leader' || (typeof m.lag === 'number' && m.lag < 1024 * 1024)),
    );
    return caughtUp && view.members.length === 2
      ? { master: master.name, replica: replica.name, ips: new Map(members.map((m) => [m.name, m.ip ?? ''])) }
      : undefined;
  };
  await until('two members streaming', healthy, 600_000);

  const first = await until('the master', healthy, 60_000);
  const db = new pg.Client({ host: first.ips.get(first.master), user: 'postgres', password, ssl: { rejectUnauthorized: false } });
  db.on('error', () => undefined);
  await db.connect();
  const rows = Math.round((sizeMib * 1024 * 1024) / 300);
  const loadStarted = performance.now();
  await db.query(
    `CREATE TABLE big AS SELECT g AS id, md5(g::text) || repeat(md5((g * 7)::text), 7) AS payload FROM generate_series(1, ${rows}) g`,
  );
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const databaseBytes = Number((await db.query<{ b: string }>('SELECT pg_database_size(current_database()) AS b')).rows[0]?.b);
  await db.end();
  await until('the replica caught up after the load', healthy, 600_000);

  const writer = new FailoverWriter({ resolver: agent.resolver, host: `${NAME}.${NS}.svc`, user: 'postgres', password });
  await writer.start();
  await sleep(2000);

  // Per member, when it first reports the new major (Patroni's own answer), polled every 250 ms.
  const onNewMajor = new Map<string, number>();
  let polling = true;
  const poller = (async (): Promise<void> => {
    while (polling) {
      for (const m of await clusterMembers(kc, NS, NAME).catch(() => [])) {
        if (m.ip === undefined || onNewMajor.has(m.name)) continue;
        const status = await patroni.member(patroniUrl(m.ip, 8008)).catch(() => undefined);
        const running = status !== undefined && ['running', 'streaming'].includes(status.state ?? '');
        if (running && Math.floor((status.server_version ?? 0) / 10000) === Number(to)) onNewMajor.set(m.name, Date.now());
      }
      await sleep(250);
    }
  })();

  // The manifest names the new major; reconcile would rebuild the StatefulSet and flag the pods.
  const edited = Date.now();
  cluster = await applySpiloCluster(kc, { ...spec(to), credentialsOf: cluster });
  await kube.apply({ ...cluster.manifest, metadata: { name: NAME, namespace: NS } } as never);
  for (const p of await clusterMembers(kc, NS, NAME))
    await kube.patchMetadata(
      { apiVersion: 'v1', kind: 'Pod', namespace: NS, name: p.name },
      { annotations: { 'zalando-postgres-operator-rolling-update-required': 'true' } },
    );

  const log = createLogger('bench-upgrade', 'info', join(root, 'rolling-update.log'));
  // The exec rolling-update makes, with the upgrade script's whole output kept (pg_upgrade's timing is in it).
  const execs = podExec(kc);
  let upgradeOutput = '';
  const exec: PodExec = async (o) => {
    const ran = await execs(o);
    if (o.command.some((c) => c.includes('inplace_upgrade.py') && !c.includes('--reset-replica'))) upgradeOutput += ran.stdout;
    return ran;
  };
  const events: EventRecord[] = [];
  const record = eventRecorder({ kube, component: 'pgfn-rolling-update', now: () => new Date() });
  const emitted: string[] = [];
  const step = (): Promise<string> =>
    advance(
      {
        kube,
        patroni,
        exec,
        loadConfig: () => Promise.resolve({ config: cluster.config, problems: [] }),
        recordEvent: (e) => {
          events.push(e);
          return record(e);
        },
        emit: (type) => {
          emitted.push(type);
          return Promise.resolve();
        },
        now: () => new Date(),
        holder: 'bench-upgrade',
        podTimeoutMs: 900_000,
        patroniPort: 8008,
      },
      { namespace: NS, name: NAME },
      { log },
    );

  const steps: { outcome: string; seconds: number; upgrade: boolean }[] = [];
  let upgradeStart = 0;
  let upgradeEnd = 0;
  let roles = first;
  while (!emitted.some((t) => t.startsWith('dev.pgfn.upgrade.'))) {
    if (steps.length > 40) throw new Error(`no upgrade after ${steps.length} steps: ${JSON.stringify(steps)}`);
    const seen = await until('a healthy cluster before the next step', healthy, 900_000);
    const started = Date.now();
    const outcome = await step();
    const upgrade = emitted.some((t) => t.startsWith('dev.pgfn.upgrade.'));
    steps.push({ outcome, seconds: (Date.now() - started) / 1000, upgrade });
    // The rotation switched over: the primary the upgrade ran on is the one before its step.
    if (upgrade) [upgradeStart, upgradeEnd, roles] = [started, Date.now(), seen];
  }
  if (!emitted.includes('dev.pgfn.upgrade.completed')) throw new Error(`the upgrade failed: ${events.map((e) => e.message).join('\n')}`);
  await until('every member on the new major', () => Promise.resolve(onNewMajor.size === 2 ? true : undefined), 900_000);
  polling = false;
  await poller;
  await sleep(2000);
  await writer.stop();
  const members = await healthy();
  const verify = new pg.Client({ host: members?.ips.get(members.master), user: 'postgres', password, ssl: { rejectUnauthorized: false } });
  verify.on('error', () => undefined);
  await verify.connect();
  const after = (await verify.query<{ v: string; n: string }>("SELECT current_setting('server_version') AS v, count(*) AS n FROM big"))
    .rows[0];
  await verify.end();
  if (Number(after?.n) !== rows) throw new Error(`rows after the upgrade: ${after?.n}, expected ${rows}`);

  const primary = roles.master;
  const replica = roles.replica;
  const primaryOnNew = onNewMajor.get(primary) ?? NaN;
  const finished = /finished in ([\d.]+) s; ANALYZE of every database in ([\d.]+) s/.exec(events.map((e) => e.message).join('\n'));
  const result = {
    machine: machine(),
    sizeMib,
    from: 15,
    to: Number(to),
    instances: 2,
    databaseBytes,
    rows,
    loadSeconds,
    serverVersionAfter: after?.v,
    totalSeconds: (Math.max(...onNewMajor.values()) - edited) / 1000,
    upgradedPrimary: primary,
    /** Seconds after the manifest edit at which each member first answered on the new major. */
    onNewMajorAfterEditSeconds: Object.fromEntries([...onNewMajor].map(([m, at]) => [m, (at - edited) / 1000])),
    rotation: {
      // until the step that upgrades starts: the last pod recreated and healthy again
      seconds: (upgradeStart - edited) / 1000,
      writeGapMs: writeGapMs(writer.acks, { from: edited, to: upgradeStart }),
      steps: steps.filter((s) => !s.upgrade).length,
    },
    upgrade: {
      stepSeconds: (upgradeEnd - upgradeStart) / 1000,
      writeGapMs: writeGapMs(writer.acks, { from: upgradeStart, to: upgradeEnd }),
      pgUpgradeLinkSeconds: pgUpgradeSeconds(upgradeOutput),
      primaryOnNewMajorSeconds: (primaryOnNew - upgradeStart) / 1000,
      replicaResyncSeconds: ((onNewMajor.get(replica) ?? NaN) - primaryOnNew) / 1000,
      upgradeReportedSeconds: Number(finished?.[1]),
      analyzeSeconds: Number(finished?.[2]),
    },
    writer: { acknowledged: writer.acks.length, errors: writer.errors },
    steps,
  };
  console.log(
    table(
      ['figure', 'value'],
      [
        ['database', `${fixed(databaseBytes / 2 ** 20, 0)} MiB (${rows} rows), 2 instances, 15 → ${to}`],
        ['total (manifest edit → every member on the new major)', `${fixed(result.totalSeconds)} s`],
        [`rotation to PGVERSION=${to} (${result.rotation.steps} steps)`, `${fixed(result.rotation.seconds)} s`],
        ['longest write gap during the rotation', `${fixed(result.rotation.writeGapMs / 1000)} s`],
        ['upgrade step (inplace_upgrade.py, re-sync, ANALYZE)', `${fixed(result.upgrade.stepSeconds)} s`],
        ['longest write gap during the upgrade', `${fixed(result.upgrade.writeGapMs / 1000)} s`],
        ['pg_upgrade --link', `${fixed(result.upgrade.pgUpgradeLinkSeconds, 2)} s`],
        ['replica re-sync (primary on the new major → replica on it)', `${fixed(result.upgrade.replicaResyncSeconds)} s`],
        ['ANALYZE in stages', `${fixed(result.upgrade.analyzeSeconds)} s`],
      ],
    ),
  );
  console.log(`\n${writeResult('upgrade', result)}`);
} finally {
  await agent.stop();
  await cp.stop();
  rmSync(root, { recursive: true, force: true });
}
