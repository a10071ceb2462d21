// Runs a plan: statement by statement, each in its own implicit transaction (CREATE DATABASE cannot
// run in one), with bounded retries for transient failures and a progress callback. A failed
// statement does not stop the others (upstream collects errors the same way); the result says
// what happened to each.
import type { Sessions } from './connection.js';
import type { Statement } from './model.js';
import { ALREADY_EXISTS_SQLSTATES, isConnectionLost, sqlState, withRetries, type RetryOptions } from './retry.js';

export type StatementOutcome = 'done' | 'failed' | 'warning' | 'retrying';

export interface ProgressEvent {
  /** 1-based position in the plan. */
  readonly index: number;
  readonly total: number;
  readonly statement: Statement;
  readonly outcome: StatementOutcome;
  readonly attempt: number;
  readonly durationMs: number;
  readonly error?: string;
}

export interface StatementError {
  readonly statement: Statement;
  readonly message: string;
  readonly sqlState?: string;
}

export interface ExecutionResult {
  readonly executed: number;
  readonly failed: number;
  /** Optional statements that failed (reported, not errors). */
  readonly warnings: number;
  readonly retries: number;
  readonly errors: readonly StatementError[];
  readonly durationMs: number;
}

export interface ExecuteOptions extends RetryOptions {
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly now?: () => number;
}

export async function executePlan(
  sessions: Sessions,
  statements: readonly Statement[],
  options: ExecuteOptions = {},
): Promise<ExecutionResult> {
  const now = options.now ?? Date.now;
  const started = now();
  let executed = 0;
  let warnings = 0;
  let retries = 0;
  const errors: StatementError[] = [];
  for (const [i, statement] of statements.entries()) {
    const began = now();
    const report = (outcome: StatementOutcome, attempt: number, error?: string): void =>
      options.onProgress?.({
        index: i + 1,
        total: statements.length,
        statement,
        outcome,
        attempt,
        durationMs: now() - began,
        ...(error !== undefined ? { error } : {}),
      });
    let attempts = 1;
    try {
      await withRetries(
        async (attempt) => {
          attempts = attempt;
          await runOne(sessions, statement, attempt);
        },
        options,
        async (err, attempt) => {
          retries++;
          report('retrying', attempt, (err as Error).message);
          if (isConnectionLost(err)) await sessions.drop(statement.database);
        },
      );
      executed++;
      report('done', attempts);
    } catch (err) {
      const message = (err as Error).message;
      if (statement.optional === true) {
        warnings++;
        report('warning', attempts, message);
        continue;
      }
      const code = sqlState(err);
      errors.push({ statement, message, ...(code !== undefined ? { sqlState: code } : {}) });
      report('failed', attempts, message);
      // The transaction-less statement left nothing open, but a broken connection must be reopened.
      if (isConnectionLost(err)) await sessions.drop(statement.database);
    }
  }
  return { executed, failed: errors.length, warnings, retries, errors, durationMs: now() - started };
}

async function runOne(sessions: Sessions, statement: Statement, attempt: number): Promise<void> {
  const client = await sessions.client(statement.database);
  try {
    await client.query(statement.sql);
  } catch (err) {
    // A retried CREATE whose first attempt committed before the connection broke.
    if (attempt > 1 && ALREADY_EXISTS_SQLSTATES.has(sqlState(err) ?? '')) return;
    throw err;
  }
}
