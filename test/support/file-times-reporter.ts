// Mocha reporter: the spec reporter, then a table of the slowest test files by wall time, hooks
// included (a file's before/after hooks start control planes, node agents, S3 servers, Knative...),
// split into the time inside test bodies and the rest. PGFN_FILE_TIMES=<path> also writes every file's
// figures as JSON. In a serial run the reporter times files from mocha's events. In a parallel run
// (ADR 0140) those events arrive only when a file has ended, replayed at once, so a file's wall time is
// what its worker noted (test/support/file-spans.ts): from its start (after any wait for its lanes,
// ADR 0144) to its end, with another file running beside it; the test bodies' times still come from the events.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import Mocha from 'mocha';
import { FILE_SPANS_ENV, readFileSpans, type WorkerFileSpan } from './file-spans.js';

const { Spec } = Mocha.reporters;
const { EVENT_RUN_BEGIN, EVENT_SUITE_BEGIN, EVENT_SUITE_END, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_RUN_END } = Mocha.Runner.constants;

/** How many rows the table prints. */
const SLOWEST = 25;

export interface FileTime {
  file: string;
  totalMs: number;
  testsMs: number;
  tests: number;
  /** Parallel runs: whether the file was heavy, the lanes it held, and how long it waited for them first. */
  heavy?: boolean;
  lanes?: readonly string[];
  waitedMs?: number;
}

export interface FileSpan {
  start: number;
  end: number;
  testsMs: number;
  tests: number;
  heavy?: boolean;
  lanes?: readonly string[];
  waitedMs?: number;
}

/** Rows for the slowest files first; hooks and start-up are total minus test bodies. */
export function slowestFiles(spans: ReadonlyMap<string, FileSpan>, limit: number): FileTime[] {
  return [...spans]
    .map(([file, s]) => ({
      file,
      totalMs: s.end - s.start,
      testsMs: s.testsMs,
      tests: s.tests,
      ...(s.heavy === undefined ? {} : { heavy: s.heavy, waitedMs: s.waitedMs ?? 0 }),
      ...(s.lanes === undefined || s.lanes.length === 0 ? {} : { lanes: s.lanes }),
    }))
    .sort((a, b) => b.totalMs - a.totalMs)
    .slice(0, limit);
}

/** The table as text lines (seconds, one decimal). */
export function fileTimesTable(rows: readonly FileTime[]): string[] {
  const sec = (ms: number): string => (ms / 1000).toFixed(1).padStart(7);
  return [
    `  slowest test files (wall time incl. hooks):`,
    `  ${'total s'.padStart(7)} ${'tests s'.padStart(7)} ${'hooks s'.padStart(7)} ${'tests'.padStart(5)}  file`,
    ...rows.map(
      (r) =>
        `  ${sec(r.totalMs)} ${sec(r.testsMs)} ${sec(r.totalMs - r.testsMs)} ${String(r.tests).padStart(5)}  ${r.file}` +
        (r.heavy === true ? `  (heavy${r.lanes === undefined ? '' : `: ${r.lanes.join(', ')}`})` : ''),
    ),
  ];
}

/** A parallel run's files: wall times from the workers' spans, test bodies from the replayed events. */
export function parallelSpans(fromEvents: ReadonlyMap<string, FileSpan>, fromWorkers: readonly WorkerFileSpan[]): Map<string, FileSpan> {
  return new Map(
    fromWorkers.map((w) => {
      const file = relative(process.cwd(), w.file);
      const events = fromEvents.get(file);
      return [
        file,
        {
          start: w.start,
          end: w.end,
          testsMs: events?.testsMs ?? 0,
          tests: events?.tests ?? 0,
          heavy: w.heavy,
          waitedMs: w.waitedMs,
          ...(w.lanes === undefined ? {} : { lanes: w.lanes }),
        },
      ];
    }),
  );
}

/** What a parallel run's time went to: its wall time against the files' own times, summed by kind. */
export function parallelSummary(wallMs: number, spans: ReadonlyMap<string, FileSpan>): string[] {
  const sum = (heavy: boolean, pick: (s: FileSpan) => number): number =>
    [...spans.values()].filter((s) => s.heavy === heavy).reduce((total, s) => total + pick(s), 0);
  const count = (heavy: boolean): number => [...spans.values()].filter((s) => s.heavy === heavy).length;
  const sec = (ms: number): string => (ms / 1000).toFixed(1);
  // A lane's files share its slots (ADR 0144, 0145): its sum over its slots bounds the run from below.
  const laneOf = (need: string): string => need.split(':')[0] ?? need;
  const lanes = [...new Set([...spans.values()].flatMap((s) => (s.lanes ?? []).map(laneOf)))].sort();
  const laneSum = (lane: string): number =>
    [...spans.values()].filter((s) => s.lanes?.some((n) => laneOf(n) === lane) === true).reduce((total, s) => total + s.end - s.start, 0);
  const byLane = lanes.length === 0 ? '' : ` (by lane: ${lanes.map((l) => `${l} ${sec(laneSum(l))} s`).join(', ')})`;
  return [
    `  parallel run: ${sec(wallMs)} s wall time; the files' own wall times summed: ` +
      `${count(true)} heavy ${sec(sum(true, (s) => s.end - s.start))} s${byLane}, ` +
      `${count(false)} light ${sec(sum(false, (s) => s.end - s.start))} s (beside them); ` +
      `heavy files waited ${sec(sum(true, (s) => s.waitedMs ?? 0))} s for their lanes`,
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
    let runBegan = Date.now();
    runner.once(EVENT_RUN_BEGIN, () => {
      runBegan = Date.now();
    });
    runner.once(EVENT_RUN_END, () => {
      const parallel = (runner as Mocha.Runner & { isParallelMode(): boolean }).isParallelMode();
      const spansDir = process.env[FILE_SPANS_ENV];
      const files = parallel ? parallelSpans(spans, spansDir === undefined ? [] : readFileSpans(spansDir)) : spans;
      if (files.size === 0) return;
      const out = process.env['PGFN_FILE_TIMES'];
      if (out !== undefined && out !== '') writeFileSync(out, `${JSON.stringify(slowestFiles(files, files.size), null, 2)}\n`);
      const summary = parallel ? parallelSummary(Date.now() - runBegan, files) : [];
      console.log(['', ...fileTimesTable(slowestFiles(files, SLOWEST)), ...summary, ''].join('\n'));
    });
  }
}
