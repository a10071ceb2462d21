// The README's convergence table is generated from the committed result file (issue 21), so the two
// cannot disagree: this fails when either changed without `npm run bench:readme`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '@pgfn/controlplane';
import {
  convergenceTable,
  KNATIVE_TABLE_END,
  KNATIVE_TABLE_START,
  knativeTable,
  TABLE_END,
  TABLE_START,
  type ConvergenceFile,
} from '../../bench/lib/convergence-table.js';
import { UPGRADE_END, UPGRADE_START, upgradeTable, type UpgradeFile } from '../../bench/lib/upgrade-table.js';

describe('README performance table', () => {
  it('is the table bench/results/convergence.json gives', () => {
    const file = JSON.parse(readFileSync(join(repoRoot, 'bench/results/convergence.json'), 'utf8')) as ConvergenceFile;
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const block = readme.slice(readme.indexOf(TABLE_START), readme.indexOf(TABLE_END) + TABLE_END.length);
    expect(block).to.equal(convergenceTable(file));
  });

  it('holds every side at every size the run measured, with the floor ratio', () => {
    const file = JSON.parse(readFileSync(join(repoRoot, 'bench/results/convergence.json'), 'utf8')) as ConvergenceFile;
    const sizes = [...new Set(file.results.map((r) => r.clusters))];
    for (const n of sizes) {
      const sides = file.results.filter((r) => r.clusters === n).map((r) => r.side);
      expect(sides, `N = ${n}`).to.include.members(['floor', 'pgfn', 'zalando', 'zalando-unthrottled']);
    }
    const unthrottled = file.results.filter((r) => r.side === 'zalando-unthrottled');
    for (const r of unthrottled)
      expect(r.api.peakRequestsPerSecond, 'the unthrottled limit was never reached').to.be.below(r.api.clientQps ?? 0);
  });

  it('quotes the major-upgrade figures bench/results/upgrade.json gives', () => {
    const file = JSON.parse(readFileSync(join(repoRoot, 'bench/results/upgrade.json'), 'utf8')) as UpgradeFile;
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    expect(readme.indexOf(UPGRADE_START), 'the markers').to.be.greaterThan(-1);
    const block = readme.slice(readme.indexOf(UPGRADE_START), readme.indexOf(UPGRADE_END) + UPGRADE_END.length);
    expect(block).to.equal(upgradeTable(file));
  });

  it("is the Knative table bench/results/convergence-knative.json gives, with Knative's processes measured", () => {
    const file = JSON.parse(readFileSync(join(repoRoot, 'bench/results/convergence-knative.json'), 'utf8')) as ConvergenceFile;
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const block = readme.slice(readme.indexOf(KNATIVE_TABLE_START), readme.indexOf(KNATIVE_TABLE_END) + KNATIVE_TABLE_END.length);
    expect(block).to.equal(knativeTable(file));
    const knative = file.results.filter((r) => r.side === 'pgfn-knative');
    expect(knative.map((r) => r.clusters)).to.include(100);
    for (const r of knative) expect(r.knative?.components.length, "Knative's processes sampled").to.be.above(0);
    expect(
      file.results.some((r) => r.side === 'pgfn' && r.clusters === 100),
      'the stand-in in the same run',
    ).to.equal(true);
  });
});
