import { expect } from 'chai';
import type { WorkerFileSpan } from './file-spans.js';
import { fileTimesTable, parallelSpans, parallelSummary, slowestFiles, type FileSpan } from './file-times-reporter.js';

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

describe('file-times reporter: a parallel run', () => {
  const fromEvents = new Map<string, FileSpan>([
    // Replayed when each file ended: start and end are the replay's moments, only the test bodies count.
    ['test/a.test.ts', { start: 90_000, end: 90_001, testsMs: 1_000, tests: 3 }],
    ['test/b.test.ts', { start: 90_001, end: 90_002, testsMs: 10_000, tests: 1 }],
  ]);
  const cwd = process.cwd();
  const fromWorkers: WorkerFileSpan[] = [
    { file: `${cwd}/test/a.test.ts`, start: 1_000, end: 4_000, waitedMs: 0, heavy: false, pid: 10 },
    { file: `${cwd}/test/b.test.ts`, start: 2_000, end: 14_500, waitedMs: 1_500, heavy: true, lanes: ['nodes'], pid: 11 },
    {
      file: `${cwd}/test/d.test.ts`,
      start: 4_000,
      end: 6_000,
      waitedMs: 0,
      heavy: true,
      lanes: ['knative:all', 'misc:all', 'nodes:all'],
      pid: 10,
    },
    { file: `${cwd}/test/c.test.ts`, start: 4_000, end: 4_500, waitedMs: 0, heavy: false, pid: 10 },
  ];

  it('takes wall times from the workers and test bodies from the events', () => {
    expect(slowestFiles(parallelSpans(fromEvents, fromWorkers), 4)).to.deep.equal([
      { file: 'test/b.test.ts', totalMs: 12_500, testsMs: 10_000, tests: 1, heavy: true, waitedMs: 1_500, lanes: ['nodes'] },
      { file: 'test/a.test.ts', totalMs: 3_000, testsMs: 1_000, tests: 3, heavy: false, waitedMs: 0 },
      {
        file: 'test/d.test.ts',
        totalMs: 2_000,
        testsMs: 0,
        tests: 0,
        heavy: true,
        waitedMs: 0,
        lanes: ['knative:all', 'misc:all', 'nodes:all'],
      },
      { file: 'test/c.test.ts', totalMs: 500, testsMs: 0, tests: 0, heavy: false, waitedMs: 0 },
    ]);
  });

  it('marks heavy files with their lanes and sums the files by kind and lane against the wall time', () => {
    const spans = parallelSpans(fromEvents, fromWorkers);
    const lines = fileTimesTable(slowestFiles(spans, 2));
    expect(lines[2]).to.match(/ {2}test\/b\.test\.ts {2}\(heavy: nodes\)$/);
    expect(lines[3]).to.match(/ {2}test\/a\.test\.ts$/);
    expect(parallelSummary(13_500, spans)).to.deep.equal([
      "  parallel run: 13.5 s wall time; the files' own wall times summed: 2 heavy 14.5 s " +
        '(by lane: knative 2.0 s, misc 2.0 s, nodes 14.5 s), 2 light 3.5 s (beside them); heavy files waited 1.5 s for their lanes',
    ]);
  });
});
