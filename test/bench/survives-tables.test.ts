// The README's "What pgfn survives" tables are generated from the committed result files of bench:chaos
// and bench:failover-safety (ADR 0103), so the two cannot disagree: this fails when either changed
// without `npm run bench:readme`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '@pgfn/controlplane';
import {
  CHAOS_END,
  CHAOS_START,
  chaosTable,
  SAFETY_END,
  SAFETY_START,
  safetyFiles,
  safetyTable,
  type ChaosFile,
} from '../../bench/lib/survives-tables.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const block = (start: string, end: string): string => readme.slice(readme.indexOf(start), readme.indexOf(end) + end.length);

describe('README: what pgfn survives', () => {
  it('holds the table bench/results/chaos.json gives', () => {
    const file = JSON.parse(readFileSync(join(repoRoot, 'bench/results/chaos.json'), 'utf8')) as ChaosFile;
    expect(readme.indexOf(CHAOS_START), 'the markers').to.be.greaterThan(0);
    expect(block(CHAOS_START, CHAOS_END)).to.equal(chaosTable(file));
  });

  it('holds the data-safety table every bench/results/failover-safety*.json gives, network cut included', () => {
    const files = safetyFiles(repoRoot);
    expect(files.map((f) => f.path)).to.include('bench/results/failover-safety.json');
    expect(readme.indexOf(SAFETY_START), 'the markers').to.be.greaterThan(0);
    expect(block(SAFETY_START, SAFETY_END)).to.equal(safetyTable(files));
  });
});
