// npm run cluster -- up | down | status | env
// Runs the same control plane the tests use, in the background, for people and for `npm run local`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, tailFile } from './process.js';
import { clusterDir, readClusterState } from './local-cluster.js';
import { logTails } from './controlplane.js';
import { binaries, repoRoot } from './versions.js';

const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'];

async function up(): Promise<void> {
  const dir = clusterDir();
  const state = readClusterState(dir);
  if (state !== undefined && isAlive(state.owner)) {
    console.log(`already up (supervisor pid ${state.owner})`);
    printEnv();
    return;
  }
  binaries(); // fail fast, naming the build command, before forking anything
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const log = openSync(join(dir, 'supervisor.log'), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'shared/controlplane/src/supervisor.ts'), dir], {
    detached: true,
    stdio: ['ignore', log, log],
    cwd: repoRoot,
  });
  child.unref();
  const started = Date.now();
  while (!existsSync(join(dir, 'ready'))) {
    if (child.pid === undefined || !isAlive(child.pid)) {
      console.error(`control plane failed to start:\n${tailFile(join(dir, 'supervisor.log'), 60)}`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.error(`control plane up in ${((Date.now() - started) / 1000).toFixed(1)} s (logs: ${join(dir, 'logs')})`);
  printEnv();
}

async function down(): Promise<void> {
  const state = readClusterState();
  if (state === undefined) {
    console.log('not running');
    return;
  }
  if (isAlive(state.owner)) process.kill(state.owner, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while ([state.owner, ...state.pids].some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  for (const pid of state.pids) if (isAlive(pid)) process.kill(-pid, 'SIGKILL');
  console.log('control plane stopped');
}

function status(): void {
  const state = readClusterState();
  if (state === undefined || !isAlive(state.owner)) {
    console.log('down');
    process.exitCode = 3;
    return;
  }
  console.log(`up: ${state.server} (supervisor pid ${state.owner})`);
  state.pids.forEach((pid, i) =>
    console.log(`  ${(COMPONENTS[i] ?? `process ${i}`).padEnd(24)} pid ${pid} ${isAlive(pid) ? 'running' : 'EXITED'}`),
  );
  console.log(`  kubeconfig ${state.kubeconfig}\n  logs       ${state.logDir}`);
  if (state.pids.some((p) => !isAlive(p))) {
    console.log(logTails(state.logDir, COMPONENTS, 10));
    process.exitCode = 1;
  }
}

function printEnv(): void {
  const state = readClusterState();
  if (state === undefined) {
    console.error('not running: npm run cluster -- up');
    process.exitCode = 3;
    return;
  }
  console.log(`export KUBECONFIG=${state.kubeconfig}`);
}

const commands: Record<string, () => void | Promise<void>> = { up, down, status, env: printEnv };
const command = commands[process.argv[2] ?? ''];
if (command === undefined) {
  console.error('usage: npm run cluster -- up | down | status | env');
  process.exit(2);
}
await command();
