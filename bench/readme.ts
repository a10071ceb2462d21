// npm run bench:readme: writes the README's generated tables from the committed result files — the
// bench:convergence table from bench/results/convergence.json, and the "What pgfn survives" tables from
// bench/results/chaos.json and bench/results/failover-safety*.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@pgfn/controlplane';
import { convergenceTable, withConvergenceTable, type ConvergenceFile } from './lib/convergence-table.js';
import {
  CHAOS_END,
  CHAOS_START,
  chaosTable,
  SAFETY_END,
  SAFETY_START,
  safetyFiles,
  safetyTable,
  withBlock,
} from './lib/survives-tables.js';

const readmePath = join(repoRoot, 'README.md');
const read = <T>(path: string): T => JSON.parse(readFileSync(join(repoRoot, path), 'utf8')) as T;
let readme = readFileSync(readmePath, 'utf8');
readme = withConvergenceTable(readme, convergenceTable(read<ConvergenceFile>('bench/results/convergence.json')));
readme = withBlock(readme, { start: CHAOS_START, end: CHAOS_END }, chaosTable(read('bench/results/chaos.json')));
readme = withBlock(readme, { start: SAFETY_START, end: SAFETY_END }, safetyTable(safetyFiles(repoRoot)));
writeFileSync(readmePath, readme);
console.log('README.md: bench:convergence, bench:chaos and bench:failover-safety tables written');
