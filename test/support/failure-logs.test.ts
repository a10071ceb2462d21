import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { failureLogTails, keepLogsOnFailure, processTable } from './failure-logs.js';

describe('failure logs: what a failing test prints of the node agents', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgfn-failure-logs-'));
    mkdirSync(join(dir, 'ns_acid-a-0'));
    writeFileSync(join(dir, 'agent.log'), 'agent started\n');
    writeFileSync(join(dir, 'ns_acid-a-0', 'postgres.log'), Array.from({ length: 50 }, (_, i) => `patroni line ${i}`).join('\n'));
    writeFileSync(join(dir, 'ns_acid-a-0', 'data.txt'), 'not a log');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the last lines of each registered .log file, two levels deep, until forgotten', () => {
    const forget = keepLogsOnFailure('node agent n1', dir);
    const out = failureLogTails(3);
    expect(out).to.include('----- node agent n1: agent.log, last 3 lines -----\nagent started');
    const pod = '----- node agent n1: ns_acid-a-0/postgres.log, last 3 lines -----';
    expect(out).to.include(`${pod}\npatroni line 47\npatroni line 48\npatroni line 49`);
    expect(out).to.not.include('patroni line 46');
    expect(out).to.not.include('not a log');
    forget();
    expect(failureLogTails(3)).to.equal('');
  });

  it('lists the processes of the given groups, and the threads of a Python process with their kernel waits', async () => {
    // A Python process of its own group, as Patroni runs in a pod's sandbox (Debian's python3, as
    // Patroni's: a pyenv shim on PATH would run short-lived helpers in the group first).
    const child = spawn(
      '/usr/bin/python3',
      ['-c', 'import threading, time; threading.Thread(target=time.sleep, args=(30,)).start(); time.sleep(30)'],
      {
        detached: true,
        stdio: 'ignore',
      },
    );
    try {
      const pid = String(child.pid);
      // Under load the interpreter may take a while to start its second thread.
      let table = '';
      for (let waited = 0; waited < 10_000; waited += 100) {
        table = processTable([child.pid ?? 0]);
        if ((table.match(/python3$/gm) ?? []).length >= 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(table).to.match(new RegExp(`^\\s*${pid}\\s+${pid}\\s+\\S+\\s+\\S+\\s+[\\d:]+\\s+/usr/bin/python3 -c import threading`, 'm'));
      expect(table).to.include(`threads of ${pid}:`);
      // the main thread and the sleeping one, each with its state
      expect(
        table
          .split('threads of')[1]
          ?.split('\n')
          .filter((l) => /^\s*\d+\s+\S+\s+\S+\s+python3$/.test(l)),
      ).to.have.length(2);
      expect(processTable([])).to.equal('(no running process group)');
      const forget = keepLogsOnFailure('node agent n1', dir, () => [child.pid ?? 0]);
      expect(failureLogTails(3)).to.include(`----- node agent n1: processes -----\n  PID  PGID`);
      forget();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
