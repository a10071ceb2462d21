// npm run bench:readme: writes the README's bench:convergence tables from bench/results/convergence.json
// and (pgfn on Knative Eventing's own processes) bench/results/convergence-knative.json.
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

const readmePath = join(repoRoot, 'README.md');
const read = (name: string): ConvergenceFile => JSON.parse(readFileSync(join(repoRoot, 'bench/results', name), 'utf8')) as ConvergenceFile;
const withMain = withConvergenceTable(readFileSync(readmePath, 'utf8'), convergenceTable(read('convergence.json')));
const withKnative = withConvergenceTable(withMain, knativeTable(read('convergence-knative.json')), {
  start: KNATIVE_TABLE_START,
  end: KNATIVE_TABLE_END,
});
writeFileSync(readmePath, withKnative);
console.log('README.md: bench:convergence tables written');
