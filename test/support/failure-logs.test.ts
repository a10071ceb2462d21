import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { failureLogTails, keepLogsOnFailure } from './failure-logs.js';

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
});
