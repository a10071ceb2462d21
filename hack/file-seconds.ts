// Writes test/support/file-seconds.json, the wall time of each test file in a full run, which
// hack/test-order.ts uses to start the longest files first (ADR 0156). Input: the JSON a run writes
// with PGFN_FILE_TIMES=<path> (test/support/file-times-reporter.ts).
//   PGFN_FILE_TIMES=/tmp/times.json npm test; node --import tsx hack/file-seconds.ts /tmp/times.json "<which run>"
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@pgfn/controlplane';

const [input, recorded] = process.argv.slice(2);
if (input === undefined || recorded === undefined) throw new Error('usage: hack/file-seconds.ts <PGFN_FILE_TIMES json> "<which run>"');
const rows = JSON.parse(readFileSync(input, 'utf8')) as { file: string; totalMs: number }[];
const seconds = Object.fromEntries(
  rows.sort((a, b) => (a.file < b.file ? -1 : 1)).map((r) => [r.file, Number((r.totalMs / 1000).toFixed(1))]),
);
writeFileSync(join(repoRoot, 'test/support/file-seconds.json'), `${JSON.stringify({ recorded, seconds }, null, 2)}\n`);
