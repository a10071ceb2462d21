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

  it('says how many of the requested sequences ran when a run stopped early or was cut short', () => {
    const file = JSON.parse(readFileSync(join(repoRoot, 'bench/results/chaos.json'), 'utf8')) as ChaosFile;
    const run = { sequencesRequested: 10_000, sequencesCompleted: file.events.sequences };
    const n = file.events.sequences.toLocaleString('en-US');
    expect(chaosTable({ ...file, run: { ...run, finished: true, stoppedAtDeadline: true } })).to.include(
      `**${n} of 10,000** cluster sequences (stopped at its \`--until\` deadline)`,
    );
    expect(chaosTable({ ...file, run: { ...run, finished: false, stoppedAtDeadline: false } })).to.include(
      `**${n} of 10,000** cluster sequences (the run was cut short`,
    );
    const whole = { sequencesRequested: file.events.sequences, sequencesCompleted: file.events.sequences };
    expect(chaosTable({ ...file, run: { ...whole, finished: true, stoppedAtDeadline: false } })).to.include(` ${n} cluster sequences,`);
  });

  it('holds the data-safety table every bench/results/failover-safety*.json gives, network cut included', () => {
    const files = safetyFiles(repoRoot);
    expect(files.map((f) => f.path)).to.include('bench/results/failover-safety.json');
    expect(readme.indexOf(SAFETY_START), 'the markers').to.be.greaterThan(0);
    expect(block(SAFETY_START, SAFETY_END)).to.equal(safetyTable(files));
  });
});
