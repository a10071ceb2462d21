// Each test file's wall time as its worker saw it (ADR 0140). In a parallel run mocha's reporter runs in
// the main process and receives a file's events only when the file has ended, replayed at once, so it
// cannot time files itself: the root hooks, which run once per file in a worker, note when the file
// started (after any wait for its lanes' locks) and ended (after its own after hooks), and append one
// line per file to a log the reporter reads at the end of the run.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The directory the run's file spans go to (set by the global setup; unset: nothing is recorded). */
export const FILE_SPANS_ENV = 'PGFN_FILE_SPANS';

export interface WorkerFileSpan {
  /** The test file, as mocha names it (an absolute path). */
  readonly file: string;
  /** Epoch ms when the file's root before hook ran and, for a heavy file, got its lanes. */
  readonly start: number;
  /** Epoch ms when the file's root after hook ran: its own after hooks are done. */
  readonly end: number;
  /** How long the file's worker waited for its lanes before `start`. */
  readonly waitedMs: number;
  readonly heavy: boolean;
  /** The lanes a heavy file held (ADR 0144). */
  readonly lanes?: readonly string[];
  /** The worker process that ran it. */
  readonly pid: number;
}

function logOf(dir: string): string {
  return join(dir, 'spans.jsonl');
}

/** Appends one file's span (one short line: appends from two workers do not interleave). */
export function recordFileSpan(span: WorkerFileSpan): void {
  const dir = process.env[FILE_SPANS_ENV];
  if (dir === undefined || dir === '') return;
  appendFileSync(logOf(dir), `${JSON.stringify(span)}\n`);
}

/** Every span recorded in this run so far (none when nothing was recorded). */
export function readFileSpans(dir: string): WorkerFileSpan[] {
  if (!existsSync(logOf(dir))) return [];
  return readFileSync(logOf(dir), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as WorkerFileSpan);
}
