import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SandboxProcess } from '@pgfn/node-agent';

/** Host pids whose command line contains `marker`. */
function pidsWith(marker: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('SandboxProcess (needs root)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgfn-sandbox-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('kills processes that left the process group when the sandbox crashes', async () => {
    const marker = `${(Date.now() % 100000) + 7000}`;
    // Like a Postgres backend: a grandchild in its own session, which a process-group kill would miss.
    const sandbox = new SandboxProcess({
      mounts: [],
      hostname: 'crashy',
      env: { PATH: '/usr/bin:/bin' },
      logFile: join(dir, 'log'),
      argv: ['/bin/sh', '-c', `setsid sleep ${marker} & sleep ${marker}.5; wait`],
    });
    await until('both sleeps', () => pidsWith(`sleep\0${marker}\0`).length === 1 && pidsWith(`sleep\0${marker}.5\0`).length === 1);
    sandbox.signal('SIGKILL');
    const exit = await sandbox.exited;
    expect(exit.signal).to.equal('SIGKILL');
    await until('every process of the sandbox to be gone', () => pidsWith(`sleep\0${marker}\0`).length === 0);
  });

  it('shows the pod its own files, host name and user, and leaves the host untouched', async () => {
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'hello'), 'from the volume');
    const sandbox = new SandboxProcess({
      mounts: [
        { kind: 'tmpfs', target: '/home' },
        { kind: 'bind', source: dir, target: '/home/postgres/pgdata', readOnly: true },
      ],
      hostname: 'acid-ha-0',
      user: 'postgres:postgres',
      env: { PATH: '/usr/bin:/bin' },
      logFile: join(dir, 'log'),
      argv: [
        '/bin/sh',
        '-c',
        'echo "$(hostname) $(id -un) $(cat /home/postgres/pgdata/hello) pid=$$"; ' +
          'touch /home/postgres/pgdata/x 2>/dev/null || echo read-only',
      ],
    });
    const exit = await sandbox.exited;
    expect(exit.code).to.equal(0);
    const log = readFileSync(join(dir, 'log'), 'utf8');
    expect(log).to.contain('acid-ha-0 postgres from the volume pid=1');
    expect(log).to.contain('read-only');
    expect(readdirSync('/home')).to.not.include('postgres');
  });

  it('delivers SIGTERM to the program and reports its exit code', async () => {
    const sandbox = new SandboxProcess({
      mounts: [],
      hostname: 'graceful',
      env: { PATH: '/usr/bin:/bin' },
      logFile: join(dir, 'log'),
      argv: ['/bin/bash', '-c', 'trap "exit 3" TERM; echo ready; while true; do sleep 0.1; done'],
    });
    await until('the program to trap TERM', () => readFileSync(join(dir, 'log'), 'utf8').split('\n').includes('ready'));
    const exit = await sandbox.stop(5000);
    expect(exit.code).to.equal(3);
  });

  it('stops like a container runtime: SIGTERM to the program alone, not to the workers it started (Patroni as PID 1)', async () => {
    // The program traps TERM and ends its worker another way; the worker records any TERM it gets.
    // Signalling the whole group made Patroni's worker get TERM twice, which can deadlock it (ADR 0095).
    const log = join(dir, 'signals');
    const done = join(dir, 'done');
    const worker = `trap "echo worker-term >> ${log}" TERM; while [ ! -e ${done} ]; do sleep 0.05; done`;
    const sandbox = new SandboxProcess({
      mounts: [],
      hostname: 'init-forwards',
      env: { PATH: '/usr/bin:/bin' },
      logFile: join(dir, 'log'),
      argv: [
        '/bin/bash',
        '-c',
        `/bin/bash -c '${worker}' & trap "echo init-term >> ${log}; touch ${done}; wait; exit 0" TERM; echo ready; ` +
          'while true; do sleep 0.05; done',
      ],
    });
    await until('the program to trap TERM', () => readFileSync(join(dir, 'log'), 'utf8').split('\n').includes('ready'));
    const exit = await sandbox.stop(30_000);
    expect(exit.code, 'the program exited by its own trap').to.equal(0);
    expect(readFileSync(log, 'utf8').trim().split('\n')).to.deep.equal(['init-term']);
  });
});
