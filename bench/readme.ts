// npm run bench:readme: writes the README's bench:convergence table from bench/results/convergence.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@pgfn/controlplane';
import { convergenceTable, withConvergenceTable, type ConvergenceFile } from './lib/convergence-table.js';

const readmePath = join(repoRoot, 'README.md');
const file = JSON.parse(readFileSync(join(repoRoot, 'bench/results/convergence.json'), 'utf8')) as ConvergenceFile;
writeFileSync(readmePath, withConvergenceTable(readFileSync(readmePath, 'utf8'), convergenceTable(file)));
console.log('README.md: bench:convergence table written');
