// Mocha reporter: the spec reporter, then a table of the slowest test files by wall time, hooks
// included (a file's before/after hooks start control planes, node agents, S3 servers, Knative...),
// split into the time inside test bodies and the rest. Serial runs only: in a parallel run the
// events replay from the workers, so the table is left out. PGFN_FILE_TIMES=<path> also writes
// every file's figures as JSON.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import Mocha from 'mocha';

const { Spec } = Mocha.reporters;
const { EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_RUN_END } = Mocha.Runner.constants;

/** How many rows the table prints. */
const SLOWEST = 25;

export interface FileTime {
  file: string;
  totalMs: number;
  testsMs: number;
  tests: number;
}

export interface FileSpan {
  start: number;
  end: number;
  testsMs: number;
  tests: number;
}

/** Rows for the slowest files first; hooks and start-up are total minus test bodies. */
export function slowestFiles(spans: ReadonlyMap<string, FileSpan>, limit: number): FileTime[] {
  return [...spans]
    .map(([file, s]) => ({ file, totalMs: s.end - s.start, testsMs: s.testsMs, tests: s.tests }))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, limit);
}

/** The table as text lines (seconds, one decimal). */
export function fileTimesTable(rows: readonly FileTime[]): string[] {
  const sec = (ms: number): string => (ms / 1000).toFixed(1).padStart(7);
  return [
    `  slowest test files (wall time incl. hooks):`,
    `  ${'total s'.padStart(7)} ${'tests s'.padStart(7)} ${'hooks s'.padStart(7)} ${'tests'.padStart(5)}  file`,
    ...rows.map((r) => `  ${sec(r.totalMs)} ${sec(r.testsMs)} ${sec(r.totalMs - r.testsMs)} ${String(r.tests).padStart(5)}  ${r.file}`),
  ];
}

export default class FileTimesReporter extends Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const spans = new Map<string, FileSpan>();
    const spanOf = (file: string | undefined): FileSpan | undefined => {
      if (file === undefined) return undefined;
      const key = relative(process.cwd(), file);
      let span = spans.get(key);
      if (span === undefined) {
        span = { start: Date.now(), end: Date.now(), testsMs: 0, tests: 0 };
        spans.set(key, span);
      }
      return span;
    };
    // A file's top-level suites: the root suite's children carry the file name.
    runner.on(EVENT_SUITE_BEGIN, (suite: Mocha.Suite) => {
      if (suite.parent?.root === true) spanOf(suite.file);
    });
    runner.on(EVENT_SUITE_END, (suite: Mocha.Suite) => {
      const span = suite.parent?.root === true ? spanOf(suite.file) : undefined;
      if (span !== undefined) span.end = Date.now();
    });
    const counted = (test: Mocha.Test): void => {
      const span = spanOf(test.file);
      if (span === undefined) return;
      span.testsMs += test.duration ?? 0;
      span.tests += 1;
    };
    runner.on(EVENT_TEST_PASS, counted);
    runner.on(EVENT_TEST_FAIL, counted);
    runner.once(EVENT_RUN_END, () => {
      const parallel = (runner as Mocha.Runner & { isParallelMode(): boolean }).isParallelMode();
      if (parallel || spans.size === 0) return;
      const out = process.env['PGFN_FILE_TIMES'];
      if (out !== undefined && out !== '') writeFileSync(out, `${JSON.stringify(slowestFiles(spans, spans.size), null, 2)}\n`);
      console.log(['', ...fileTimesTable(slowestFiles(spans, SLOWEST)), ''].join('\n'));
    });
  }
}
