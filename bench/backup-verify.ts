// bench:backup-verify — the inventory check's time for a bucket with 10,000 WAL segments (WAL-G's
// layout, written from its documented format: WAL-G cannot be installed here), in a real S3 server
// (versitygw); then (backup-verify-restore.ts) pgfn's restore test of a --size-mib database (default
// 1024) against barman-cloud restoring the same backup by hand. Prints a markdown table and writes
// bench/results/backup-verify.json.
// Run: npm run bench:backup-verify [-- --size-mib 1024]   (needs root: the node agent's sandboxes;
// hold flock /tmp/pgfn-realpg.lock)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { openArchive, s3ObjectStore } from '@pgfn/backup-store';
import { ControlPlane, S3Server } from '@pgfn/controlplane';
import { startNodeAgent } from '@pgfn/node-agent';
import { benchRestore, type RestoreFigures } from './backup-verify-restore.js';
import { arg, fixed, machine, table, writeResult } from './lib/report.js';
import { checkInventory } from '../functions/backup-verify/src/inventory.js';
import { policyFromEnv } from '../functions/backup-verify/src/policy.js';
import { segmentNames, writeWalgArchive } from '../test/backup-verify/walg-fixture.js';

const SEGMENTS = 10_000;
const RUNS = 5;
const BUCKET = 'pgfn-wal';
const PREFIX = 'spilo/acid-bench/0000/wal/15';

const sizeMib = Number(arg('size-mib', '1024'));
const root = mkdtempSync(join(tmpdir(), 'pgfn-bench-verify-'));
const s3 = await S3Server.start({ dir: join(root, 's3'), buckets: [BUCKET] });
try {
  const loadStarted = performance.now();
  await writeWalgArchive({ s3, bucket: BUCKET, prefix: PREFIX, segments: segmentNames(0x10, SEGMENTS), ageSeconds: 3600, parallel: 32 });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const client = s3.client();
  const runs: { listSeconds: number; checkMs: number; ok: boolean; checked: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const archive = await openArchive({ store: s3ObjectStore(client, BUCKET), prefix: PREFIX });
    const [backups, segments] = await Promise.all([archive.backups(), archive.walSegments()]);
    const listed = performance.now();
    const result = checkInventory({ backups, segments, now: new Date(), policy: policyFromEnv({}) });
    runs.push({
      listSeconds: (listed - started) / 1000,
      checkMs: performance.now() - listed,
      ok: result.ok,
      checked: result.segmentsChecked,
    });
  }
  client.destroy();
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const inventory = {
    segments: SEGMENTS,
    runs: RUNS,
    inventoryMedianSeconds: median(runs.map((r) => r.listSeconds + r.checkMs / 1000)),
    listMedianSeconds: median(runs.map((r) => r.listSeconds)),
    checkMedianMs: median(runs.map((r) => r.checkMs)),
    allVerified: runs.every((r) => r.ok && r.checked === SEGMENTS),
    loadSeconds,
  };
  const restore = await restoreFigures();
  const mib = (b: number): string => fixed(b / 1024 / 1024, 0);
  console.log(
    table(
      ['figure', 'value'],
      [
        ['WAL segments in the bucket', SEGMENTS],
        [`inventory (list + check), median of ${RUNS}`, `${fixed(inventory.inventoryMedianSeconds, 2)} s`],
        ['of which listing the bucket', `${fixed(inventory.listMedianSeconds, 2)} s`],
        ['of which the continuity check', `${fixed(inventory.checkMedianMs, 1)} ms`],
        ['every run verified all segments', String(inventory.allVerified)],
        ['database for the restore comparison', `${mib(restore.databaseBytes)} MiB (${restore.rows} rows)`],
        [
          'base backup on request (exec of postgres_backup.sh)',
          `${fixed(restore.onDemandBackup.seconds)} s, ${mib(restore.onDemandBackup.storedBytes)} MiB stored`,
        ],
        ['pgfn restore test (marker, Spilo clone Job, checks, removal)', `${fixed(restore.pgfnRestoreTest.seconds)} s`],
        [
          'barman-cloud by hand (cloud_restore + replay to promotion)',
          `${fixed(restore.bareRestore.seconds)} s ` +
            `(fetch ${fixed(restore.bareRestore.fetchSeconds)} s, replay ${fixed(restore.bareRestore.replaySeconds)} s)`,
        ],
        ['pgfn / bare tool', `${fixed(restore.ratio, 2)}×`],
      ],
    ),
  );
  console.log(`\n${writeResult('backup-verify', { machine: machine(), sizeMib, inventory, restore })}`);
} finally {
  await s3.stop();
  rmSync(root, { recursive: true, force: true });
}

/** The restore comparison on its own control plane and node agent (the S3 server is shared). */
async function restoreFigures(): Promise<RestoreFigures> {
  const cp = await ControlPlane.start({ dir: join(root, 'cp'), removeOnStop: false });
  const agent = await startNodeAgent({
    kubeconfig: cp.kubeconfig,
    nodeName: 'pgfn-bench-verify',
    dataDir: join(root, 'data'),
    logDir: join(root, 'logs'),
  });
  try {
    await s3.ensureBucket('pgfn-wal');
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    return await benchRestore({ kc, s3, root, sizeMib });
  } finally {
    await agent.stop();
    await cp.stop();
  }
}
