// npm run bench:readme: writes the README's generated figures from the committed result files — the
// bench:convergence tables (bench/results/convergence.json, and pgfn on Knative Eventing's own
// processes: bench/results/convergence-knative.json), the bench:upgrade figures
// (bench/results/upgrade.json), and the "What pgfn survives" tables (bench/results/chaos.json and
// bench/results/failover-safety*.json).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@pgfn/controlplane';
import {
  convergenceTable,
  KNATIVE_TABLE_END,
  KNATIVE_TABLE_START,
  knativeTable,
  withConvergenceTable,
  type ConvergenceFile,
} from './lib/convergence-table.js';
import { withBlock } from './lib/readme-blocks.js';
import { CHAOS_END, CHAOS_START, chaosTable, SAFETY_END, SAFETY_START, safetyFiles, safetyTable } from './lib/survives-tables.js';
import { UPGRADE_END, UPGRADE_START, upgradeTable, type UpgradeFile } from './lib/upgrade-table.js';

const readmePath = join(repoRoot, 'README.md');
const read = <T>(path: string): T => JSON.parse(readFileSync(join(repoRoot, path), 'utf8')) as T;
let readme = readFileSync(readmePath, 'utf8');
readme = withConvergenceTable(readme, convergenceTable(read<ConvergenceFile>('bench/results/convergence.json')));
readme = withBlock(readme, {
  start: KNATIVE_TABLE_START,
  end: KNATIVE_TABLE_END,
  block: knativeTable(read<ConvergenceFile>('bench/results/convergence-knative.json')),
});
readme = withBlock(readme, {
  start: UPGRADE_START,
  end: UPGRADE_END,
  block: upgradeTable(read<UpgradeFile>('bench/results/upgrade.json')),
});
readme = withBlock(readme, { start: CHAOS_START, end: CHAOS_END, block: chaosTable(read('bench/results/chaos.json')) });
readme = withBlock(readme, { start: SAFETY_START, end: SAFETY_END, block: safetyTable(safetyFiles(repoRoot)) });
writeFileSync(readmePath, readme);
console.log('README.md: bench:convergence, bench:upgrade, bench:chaos and bench:failover-safety figures written');
