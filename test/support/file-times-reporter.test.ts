import { expect } from 'chai';
import { fileTimesTable, slowestFiles, type FileSpan } from './file-times-reporter.js';

describe('file-times reporter: the slowest-files table', () => {
  const spans = new Map<string, FileSpan>([
    ['test/a.test.ts', { start: 1_000, end: 4_000, testsMs: 1_000, tests: 3 }],
    ['test/b.test.ts', { start: 4_000, end: 14_500, testsMs: 10_000, tests: 1 }],
    ['test/c.test.ts', { start: 14_500, end: 14_600, testsMs: 100, tests: 7 }],
  ]);

  it('orders files by wall time, hooks included, and keeps the limit', () => {
    expect(slowestFiles(spans, 2)).to.deep.equal([
      { file: 'test/b.test.ts', totalMs: 10_500, testsMs: 10_000, tests: 1 },
      { file: 'test/a.test.ts', totalMs: 3_000, testsMs: 1_000, tests: 3 },
    ]);
  });

  it('prints seconds: total, inside tests, the rest (hooks and start-up)', () => {
    const lines = fileTimesTable(slowestFiles(spans, 3));
    expect(lines[2]).to.match(/^\s+10\.5\s+10\.0\s+0\.5\s+1 {2}test\/b\.test\.ts$/);
    expect(lines[3]).to.match(/^\s+3\.0\s+1\.0\s+2\.0\s+3 {2}test\/a\.test\.ts$/);
    expect(lines).to.have.length(5);
  });
});
