// bench:backup-verify — the inventory check's time for a bucket with 10,000 WAL segments (WAL-G's
// layout, written from its documented format: WAL-G cannot be installed here), in a real S3 server
// (versitygw). Prints a markdown table and writes bench/results/backup-verify.json.
// Run: npm run bench:backup-verify
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openArchive, s3ObjectStore } from '@pgfn/backup-store';
import { repoRoot, S3Server } from '@pgfn/controlplane';
import { checkInventory } from '../functions/backup-verify/src/inventory.js';
import { policyFromEnv } from '../functions/backup-verify/src/policy.js';
import { segmentNames, writeWalgArchive } from '../test/backup-verify/walg-fixture.js';

const SEGMENTS = 10_000;
const RUNS = 5;
const BUCKET = 'pgfn-wal';
const PREFIX = 'spilo/acid-bench/0000/wal/15';

const s3 = await S3Server.start({ buckets: [BUCKET] });
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
  const figures = {
    segments: SEGMENTS,
    runs: RUNS,
    inventoryMedianSeconds: median(runs.map((r) => r.listSeconds + r.checkMs / 1000)),
    listMedianSeconds: median(runs.map((r) => r.listSeconds)),
    checkMedianMs: median(runs.map((r) => r.checkMs)),
    allVerified: runs.every((r) => r.ok && r.checked === SEGMENTS),
    loadSeconds,
  };
  console.log('| figure | value |\n|---|---|');
  console.log(`| WAL segments in the bucket | ${SEGMENTS} |`);
  console.log(`| inventory (list + check), median of ${RUNS} | ${figures.inventoryMedianSeconds.toFixed(2)} s |`);
  console.log(`| of which listing the bucket | ${figures.listMedianSeconds.toFixed(2)} s |`);
  console.log(`| of which the continuity check | ${figures.checkMedianMs.toFixed(1)} ms |`);
  console.log(`| every run verified all segments | ${figures.allVerified} |`);
  console.log('| restore-test duration vs the bare tool | not measured yet |');
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'backup-verify.json'), `${JSON.stringify(figures, null, 2)}\n`);
  console.log(JSON.stringify(figures));
} finally {
  await s3.stop();
}
