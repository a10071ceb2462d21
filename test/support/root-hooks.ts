// Mocha root hook plugin: one real control plane per test run, started in the main mocha process
// (global fixtures run there even in --parallel mode) and shared by every file through env vars.
// Tests isolate themselves by namespace. A failing test prints the tail of every component's log and
// of the node agents' logs its file registered (failure-logs.ts).
// Beside it, one PostgreSQL 15 per run (@pgfn/testpg), handed to workers through TEST_POSTGRES_ENV;
// tests isolate by their own databases and a unique role-name prefix.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'mocha';
import { ControlPlane, EVERY_LANE, EXCLUSIVE_LOCK_ENV, logTails, releaseExclusive, takeExclusive } from '@pgfn/controlplane';
import { AGENT_GROUP_ENV } from '@pgfn/node-agent';
import { postgresAvailable, startPostgres, TEST_POSTGRES_ENV, testPostgresEnvValue, type RunningPostgres } from '@pgfn/testpg';
import { STATE_ENV, testEnv } from './env.js';
import { failureLogTails } from './failure-logs.js';
import { FILE_SPANS_ENV, recordFileSpan } from './file-spans.js';
import { fileLanes } from './heavy-files.js';

// A worker's node agents and the clusters it deploys carry its group: two files' pods never meet (ADR 0145).
if (process.env['MOCHA_WORKER_ID'] !== undefined) process.env[AGENT_GROUP_ENV] = `worker-${process.pid}`;

let controlPlane: ControlPlane | undefined;
let postgres: RunningPostgres | undefined;
/** The heavy-file locks (ADR 0090, 0144): files that start real processes take turns by lane. */
let exclusiveDir: string | undefined;
/** Where the workers note each file's wall time (ADR 0140; the reporter reads it). */
let spansDir: string | undefined;
/** The file this worker runs now: when it started, after how long a wait for the lock. */
let current: { file: string; heavy: boolean; lanes: readonly string[]; start: number; waitedMs: number } | undefined;

export async function mochaGlobalSetup(this: Context): Promise<void> {
  // Postgres starts beside the control plane (also with PGFN_NO_CONTROL_PLANE=1); PGFN_NO_POSTGRES=1 skips it.
  const postgresStarting = startTestPostgres();
  try {
    await startControlPlane();
  } finally {
    await postgresStarting;
  }
  // Set after this process started its own parts: only the files (workers) take the lock.
  exclusiveDir = mkdtempSync(join(tmpdir(), 'pgfn-exclusive-'));
  process.env[EXCLUSIVE_LOCK_ENV] = exclusiveDir;
  spansDir = mkdtempSync(join(tmpdir(), 'pgfn-file-spans-'));
  process.env[FILE_SPANS_ENV] = spansDir;
}

async function startTestPostgres(): Promise<void> {
  if (process.env['PGFN_NO_POSTGRES'] === '1' || !postgresAvailable()) return;
  const started = Date.now();
  postgres = await startPostgres();
  process.env[TEST_POSTGRES_ENV] = testPostgresEnvValue(postgres);
  console.log(`  postgres up in ${((Date.now() - started) / 1000).toFixed(1)} s: 127.0.0.1:${postgres.port} (log ${postgres.logFile})`);
}

async function startControlPlane(): Promise<void> {
  // For quick edit-test loops over pure unit tests only: any test that needs the control plane then
  // fails loudly in testEnv(). Never set in CI.
  if (process.env['PGFN_NO_CONTROL_PLANE'] === '1') return;
  const started = Date.now();
  controlPlane = await ControlPlane.start();
  process.env[STATE_ENV] = `${controlPlane.state.dir}/state.json`;
  process.env['KUBECONFIG'] = controlPlane.kubeconfig;
  const { server, logDir } = controlPlane.state;
  console.log(`  control plane up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${server} (logs ${logDir})`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  await controlPlane?.stop();
  await postgres?.stop();
  if (exclusiveDir !== undefined) rmSync(exclusiveDir, { recursive: true, force: true });
  if (spansDir !== undefined) rmSync(spansDir, { recursive: true, force: true });
}

export const mochaHooks = {
  // beforeAll/afterAll run once per file in a parallel run (each file is its own root suite there),
  // once for the whole run otherwise. A heavy file waits for its lanes here, with no time limit.
  async beforeAll(this: Context): Promise<void> {
    if (process.env[EXCLUSIVE_LOCK_ENV] === undefined) return;
    const root = this.test?.parent;
    const file = process.env['MOCHA_WORKER_ID'] === undefined ? undefined : (root?.suites[0]?.file ?? root?.tests[0]?.file);
    // A serial run holds every lane throughout.
    const lanes = file === undefined ? EVERY_LANE : fileLanes(file);
    const heavy = lanes.length > 0;
    const begun = Date.now();
    if (heavy) {
      this.timeout(0);
      await takeExclusive(file ?? 'a serial run', lanes);
    }
    if (file !== undefined) current = { file, heavy, lanes, start: Date.now(), waitedMs: Date.now() - begun };
  },
  afterAll(): void {
    releaseExclusive();
    if (current !== undefined) recordFileSpan({ ...current, end: Date.now(), pid: process.pid });
    current = undefined;
  },
  afterEach(this: Context): void {
    if (this.currentTest?.state !== 'failed') return;
    const title = this.currentTest.fullTitle();
    if (process.env[STATE_ENV] !== undefined) {
      const env = testEnv();
      console.error(`\n  control-plane logs for "${title}":\n${logTails(env.logDir, env.components, 15)}\n`);
    }
    const agents = failureLogTails(40);
    if (agents !== '') console.error(`\n  node-agent logs for "${title}":\n${agents}\n`);
  },
};
