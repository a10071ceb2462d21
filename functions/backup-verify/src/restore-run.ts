// The restore test's effects: a marker row written through the master and archived, a scratch
// instance (restore-job.ts) restored to just after it, the checks, and the scratch always removed —
// before (what an earlier run left, e.g. when the function died) and after.
import type { KubernetesObject, V1Job, V1Pod, V1Secret, V1StatefulSet } from '@kubernetes/client-node';
import pg from 'pg';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { secretName, statefulSetName } from '@pgfn/builder';
import { findMaster, type Kit } from '@pgfn/fn-runtime';
import { formatAge } from './inventory.js';
import { RESTORE_TEST_LABEL, restoreJob, scratchName } from './restore-job.js';

export interface RestoreResult {
  readonly ok: boolean;
  readonly reason: 'RestoreVerified' | 'RestoreFailed';
  readonly detail: string;
  readonly durationSeconds: number;
}

export interface RestoreRun {
  readonly kube: Kit['kube'];
  readonly cluster: Postgresql & KubernetesObject;
  readonly config: OperatorConfig;
  readonly timeoutSeconds: number;
  readonly signal?: AbortSignal;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function connect(host: string, port: number, password: string): Promise<pg.Client> {
  const client = new pg.Client({ host, port, user: 'postgres', password, database: 'postgres', ssl: { rejectUnauthorized: false } });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function query<T extends pg.QueryResultRow>(o: { host: string; port: number; password: string; sql: string }): Promise<T[]> {
  const client = await connect(o.host, o.port, o.password);
  try {
    return (await client.query<T>(o.sql)).rows;
  } finally {
    await client.end();
  }
}

/** Removes the scratch Job, its pods and what Patroni made for its scope; waits until the Job is gone. */
export async function removeScratch(o: Pick<RestoreRun, 'kube' | 'cluster' | 'config'>): Promise<boolean> {
  const namespace = o.cluster.metadata.namespace ?? '';
  const name = o.cluster.metadata.name ?? '';
  const scratch = scratchName(name);
  const job = await o.kube.get<V1Job & KubernetesObject>({ apiVersion: 'batch/v1', kind: 'Job', namespace, name: scratch });
  if (job !== undefined) await o.kube.delete({ apiVersion: 'batch/v1', kind: 'Job', namespace, name: scratch });
  const podsOf = (): Promise<(V1Pod & KubernetesObject)[]> =>
    o.kube.list<V1Pod & KubernetesObject>('v1', 'Pod', namespace, `${RESTORE_TEST_LABEL}=${name}`);
  const pods = await podsOf();
  for (const p of pods) await o.kube.delete({ apiVersion: 'v1', kind: 'Pod', namespace, name: p.metadata?.name ?? '' });
  // Patroni's objects go once its pods are gone: a Patroni still stopping would write them again, and
  // the next scratch instance would find a leader key and never bootstrap.
  for (let i = 0; i < 120; i++) {
    const [job, left] = await Promise.all([o.kube.get({ apiVersion: 'batch/v1', kind: 'Job', namespace, name: scratch }), podsOf()]);
    if (job === undefined && left.length === 0) break;
    await sleep(500);
  }
  for (const kind of ['Endpoints', 'ConfigMap', 'Service']) {
    // kube-kinds: v1/Endpoints v1/ConfigMap v1/Service
    for (const x of await o.kube.list<KubernetesObject>('v1', kind, namespace, `${o.config.clusterNameLabel}=${scratch}`)) {
      // kube-kinds: v1/Endpoints v1/ConfigMap v1/Service
      await o.kube.delete({ apiVersion: 'v1', kind, namespace, name: x.metadata?.name ?? '' });
    }
  }
  return job !== undefined || pods.length > 0;
}

/** Restores the newest base backup plus WAL to just after a fresh marker row, and checks the scratch instance. */
export async function runRestoreTest(o: RestoreRun): Promise<RestoreResult> {
  const started = performance.now();
  const result = (ok: boolean, detail: string): RestoreResult => ({
    ok,
    reason: ok ? 'RestoreVerified' : 'RestoreFailed',
    detail,
    durationSeconds: (performance.now() - started) / 1000,
  });
  const namespace = o.cluster.metadata.namespace ?? '';
  const name = o.cluster.metadata.name ?? '';
  await removeScratch(o);
  try {
    const secret = await o.kube.get<V1Secret & KubernetesObject>({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace,
      name: secretName(o.config.superUsername, name, o.config),
    });
    const password = Buffer.from(secret?.data?.['password'] ?? '', 'base64').toString('utf8');
    const found = await findMaster({ kube: o.kube, cluster: o.cluster, config: o.config });
    if (found.master === undefined) return result(false, `restore test not run: no master to write the marker (${found.reason})`);
    const master = { host: found.master.host, port: found.master.port, password };
    // The probe: a marker committed before the target time, another after it; both archived.
    const marker = `probe-${Date.now().toString(36)}`;
    await query({ ...master, sql: 'CREATE TABLE IF NOT EXISTS pgfn_backup_probe (id text PRIMARY KEY, at timestamptz DEFAULT now())' });
    await query({ ...master, sql: `INSERT INTO pgfn_backup_probe (id) VALUES ('${marker}')` });
    const [target] = await query<{ t: string }>({
      ...master,
      sql: `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00' AS t`,
    });
    await sleep(1100);
    await query({ ...master, sql: `INSERT INTO pgfn_backup_probe (id) VALUES ('${marker}-after')` });
    const [switched] = await query<{ seg: string }>({ ...master, sql: 'SELECT pg_walfile_name(pg_switch_wal()) AS seg' });
    for (let i = 0; ; i++) {
      const [a] = await query<{ last: string | null }>({ ...master, sql: 'SELECT last_archived_wal AS last FROM pg_stat_archiver' });
      if ((a?.last ?? '') >= (switched?.seg ?? '')) break;
      if (i > 120) return result(false, `restore test not run: ${switched?.seg ?? ''} was not archived within 2 minutes`);
      await sleep(1000);
    }
    const statefulSet = await o.kube.get<V1StatefulSet & KubernetesObject>({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      namespace,
      name: statefulSetName(o.cluster),
    });
    if (statefulSet === undefined) return result(false, `restore test not run: StatefulSet ${statefulSetName(o.cluster)} not found`);
    const job = restoreJob({
      cluster: o.cluster,
      statefulSet,
      config: o.config,
      targetTime: target?.t ?? '',
      deadlineSeconds: o.timeoutSeconds,
    });
    await o.kube.create(job);
    const deadline = Date.now() + o.timeoutSeconds * 1000;
    while (Date.now() < deadline) {
      o.signal?.throwIfAborted();
      const [pod] = await o.kube.list<V1Pod & KubernetesObject>('v1', 'Pod', namespace, `${RESTORE_TEST_LABEL}=${name}`);
      const terminated = pod?.status?.containerStatuses?.[0]?.state?.terminated;
      if (pod?.status?.phase === 'Failed' || terminated !== undefined) {
        const why =
          terminated === undefined ? (pod?.status?.message ?? 'pod failed') : `exit ${terminated.exitCode} ${terminated.reason ?? ''}`;
        return result(false, `the restore of the newest base backup failed: the scratch instance ended (${why.trim()})`);
      }
      const ip = pod?.status?.podIP;
      if (ip !== undefined && ip !== '') {
        const scratch = { host: ip, port: 5432, password };
        const [state] = await query<{ recovering: boolean }>({ ...scratch, sql: 'SELECT pg_is_in_recovery() AS recovering' }).catch(
          () => [],
        );
        if (state?.recovering === false) return await checkScratch({ scratch, marker, target: target?.t ?? '', result });
      }
      await sleep(2000);
    }
    return result(false, `the restore did not finish within ${formatAge(o.timeoutSeconds)}`);
  } finally {
    await removeScratch(o);
  }
}

async function checkScratch(o: {
  scratch: { host: string; port: number; password: string };
  marker: string;
  target: string;
  result: (ok: boolean, detail: string) => RestoreResult;
}): Promise<RestoreResult> {
  const rows = await query<{ id: string }>({ ...o.scratch, sql: `SELECT id FROM pgfn_backup_probe WHERE id LIKE '${o.marker}%'` });
  const ids = rows.map((r) => r.id).sort();
  if (!ids.includes(o.marker)) return o.result(false, `the restored instance lacks the marker ${o.marker} written before ${o.target}`);
  if (ids.includes(`${o.marker}-after`))
    return o.result(false, `the restored instance went past ${o.target} (it has the row written after)`);
  await query({ ...o.scratch, sql: 'CREATE EXTENSION IF NOT EXISTS amcheck' });
  const [checked] = await query<{ n: string }>({
    ...o.scratch,
    sql:
      'SELECT count(bt_index_check(c.oid)) AS n FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid ' +
      "JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' AND c.relnamespace = 'pg_catalog'::regnamespace",
  });
  return o.result(true, `restored to ${o.target}: marker found, ${checked?.n ?? 0} catalog indexes pass amcheck`);
}
