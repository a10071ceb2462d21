// npm run bench:readme: writes the README's generated figures from the committed result files: the
// bench:convergence table (bench/results/convergence.json) and the bench:upgrade figures
// (bench/results/upgrade.json).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@pgfn/controlplane';
import { convergenceTable, withBlock, withConvergenceTable, type ConvergenceFile } from './lib/convergence-table.js';
import { UPGRADE_END, UPGRADE_START, upgradeTable, type UpgradeFile } from './lib/upgrade-table.js';

const readmePath = join(repoRoot, 'README.md');
const result = <T>(name: string): T => JSON.parse(readFileSync(join(repoRoot, `bench/results/${name}.json`), 'utf8')) as T;
let readme = readFileSync(readmePath, 'utf8');
readme = withConvergenceTable(readme, convergenceTable(result<ConvergenceFile>('convergence')));
readme = withBlock(readme, { start: UPGRADE_START, end: UPGRADE_END, block: upgradeTable(result<UpgradeFile>('upgrade')) });
writeFileSync(readmePath, readme);
console.log('README.md: bench:convergence table and bench:upgrade figures written');
