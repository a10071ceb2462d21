// The logical restore test (ADR 0072): the newest dump, read from the bucket, restored database by
// database into a scratch database `pgfn_logical_check` on the master (psql in the master pod, the
// dump on its standard input), every table's rows counted against the dump's COPY block, and the
// scratch database dropped — also when a step fails.
import { gunzipSync } from 'node:zlib';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import type { ObjectStore } from '@pgfn/backup-store';
import { findMaster, type Kit } from '@pgfn/fn-runtime';
import type { PodExec } from '@pgfn/kube';
import { execError, lastLine } from './backup-request.js';
import { countQuery, dumpedDatabases, parseCounts, rowMismatches, type DumpedDatabase } from './logical-dump.js';

export const SCRATCH_DATABASE = 'pgfn_logical_check';

export interface LogicalRestoreResult {
  readonly ok: boolean;
  readonly detail: string;
  readonly databases: number;
  readonly tables: number;
  readonly rows: number;
  readonly durationSeconds: number;
}

/** psql's first ERROR line (the CONTEXT lines after it say less), else its last line. */
function psqlError(stderr: string): string {
  const error = stderr.split('\n').find((l) => /^(psql:.*)?ERROR:/.test(l.trim()));
  return (error ?? lastLine(stderr)).trim().slice(0, 500);
}

const asPostgres = (psqlArgs: string): string[] => ['/bin/su', 'postgres', '-c', `psql -X -v ON_ERROR_STOP=1 ${psqlArgs}`];
const RECREATE = `-q -d postgres -c "DROP DATABASE IF EXISTS ${SCRATCH_DATABASE} WITH (FORCE)" -c "CREATE DATABASE ${SCRATCH_DATABASE}"`;
const DROP = `-q -d postgres -c "DROP DATABASE IF EXISTS ${SCRATCH_DATABASE} WITH (FORCE)"`;

export async function restoreLogical(o: {
  kube: Kit['kube'];
  exec: PodExec;
  cluster: Postgresql & KubernetesObject;
  config: OperatorConfig;
  store: ObjectStore;
  key: string;
}): Promise<LogicalRestoreResult> {
  const started = performance.now();
  let counted = { databases: 0, tables: 0, rows: 0 };
  const result = (ok: boolean, detail: string): LogicalRestoreResult => ({
    ok,
    detail,
    ...counted,
    durationSeconds: (performance.now() - started) / 1000,
  });
  const found = await findMaster({ kube: o.kube, cluster: o.cluster, config: o.config });
  const pod = found.master?.podName;
  if (pod === undefined) return result(false, `no master pod to restore on (${found.reason ?? 'its pod is not named'})`);
  const namespace = o.cluster.metadata.namespace ?? '';
  const run = (psqlArgs: string, stdin?: string): ReturnType<PodExec> =>
    o.exec({ namespace, pod, container: 'postgres', command: asPostgres(psqlArgs), ...(stdin === undefined ? {} : { stdin }) });
  let text: string;
  try {
    text = gunzipSync(await o.store.read(o.key)).toString('utf8');
  } catch (err) {
    return result(false, `the dump could not be read: ${err instanceof Error ? err.message : String(err)}`);
  }
  const databases = dumpedDatabases(text);
  if (databases.length === 0) return result(false, 'the dump holds no database');
  try {
    return await restoreEach({ databases, run, result, count: (c) => (counted = c) });
  } catch (err) {
    return result(false, `exec into ${pod} failed: ${execError(err)}`);
  } finally {
    await run(DROP).catch(() => undefined);
  }
}

async function restoreEach(o: {
  databases: readonly DumpedDatabase[];
  run: (psqlArgs: string, stdin?: string) => ReturnType<PodExec>;
  result: (ok: boolean, detail: string) => LogicalRestoreResult;
  count: (c: { databases: number; tables: number; rows: number }) => void;
}): Promise<LogicalRestoreResult> {
  const { run, result } = o;
  let counted = { databases: 0, tables: 0, rows: 0 };
  for (const db of o.databases) {
    const created = await run(RECREATE);
    if (created.exitCode !== 0) return result(false, `creating ${SCRATCH_DATABASE} failed: ${psqlError(created.stderr)}`);
    const restored = await run(`-q -d ${SCRATCH_DATABASE}`, db.sql);
    if (restored.exitCode !== 0) return result(false, `database ${db.name} did not restore: ${psqlError(restored.stderr)}`);
    const tables = [...db.rows.keys()];
    if (tables.length > 0) {
      const counts = await run(`-tA -z -d ${SCRATCH_DATABASE} -f -`, `${countQuery(tables)};\n`);
      if (counts.exitCode !== 0) return result(false, `counting the rows of ${db.name} failed: ${psqlError(counts.stderr)}`);
      const restoredRows = parseCounts(counts.stdout.replace(/\0/g, '\t'));
      const wrong = rowMismatches(db.rows, restoredRows);
      if (wrong.length > 0) return result(false, `database ${db.name}: rows differ from the dump (${wrong.slice(0, 5).join('; ')})`);
    }
    counted = {
      databases: counted.databases + 1,
      tables: counted.tables + tables.length,
      rows: counted.rows + [...db.rows.values()].reduce((a, b) => a + b, 0),
    };
    o.count(counted);
  }
  const { databases: d, tables: t, rows: r } = counted;
  return result(true, `restored into a scratch database: ${d} database${d === 1 ? '' : 's'}, ${t} tables, ${r} rows as in the dump`);
}
