// The README's data-safety figures are those of the committed bench/results/failover-safety.json
// (ADR 0080): a rerun of `npm run bench:failover-safety` without updating the README fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '@pgfn/controlplane';

interface SafetyFile {
  readonly pgfnCommit: string;
  readonly results: {
    readonly mode: string;
    readonly acknowledged: number;
    readonly lost: number;
    readonly outcomes: { readonly fault: string; readonly acknowledged: number; readonly lost: number }[];
  }[];
}

const thousands = (n: number): string => n.toLocaleString('en-US');

describe('README data safety under failover', () => {
  const file = JSON.parse(readFileSync(join(repoRoot, 'bench/results/failover-safety.json'), 'utf8')) as SafetyFile;
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Data safety under failover'));

  it('quotes every mode and fault of the committed run, from that run', () => {
    expect(section, 'the commit the figures were taken on').to.include(`commit ${file.pgfnCommit}`);
    for (const r of file.results) {
      const label = r.mode === 'sync' ? '`synchronous_mode: true`' : 'asynchronous (default)';
      for (const fault of new Set(r.outcomes.map((o) => o.fault))) {
        const mine = r.outcomes.filter((o) => o.fault === fault);
        const figure = `${thousands(mine.reduce((s, o) => s + o.lost, 0))} of ${thousands(mine.reduce((s, o) => s + o.acknowledged, 0))}`;
        const row = section.split('\n').find((l) => l.startsWith(`| ${label} | ${fault} |`));
        expect(row, `${r.mode} ${fault}`).to.include(`| ${mine.length} |`).and.to.include(figure);
      }
      expect(section, `${r.mode} in all`).to.include(`${thousands(r.lost)} of ${thousands(r.acknowledged)}`);
    }
  });
});
