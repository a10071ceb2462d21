import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { childPids, startPostgres, testPostgres } from '@pgfn/testpg';

/** Which of `pids` still run. */
function alive(pids: number[]): number[] {
  return pids.filter((pid) => spawnSync('kill', ['-0', String(pid)]).status === 0);
}

describe('startPostgres', function () {
  this.timeout(60_000);

  it('serves the test run: scram-sha-256, fsync off, 127.0.0.1', async () => {
    const client = new pg.Client(testPostgres());
    await client.connect();
    try {
      const { rows } = await client.query<{ fsync: string; enc: string; addr: string; version: string }>(
        "SELECT current_setting('fsync') AS fsync, current_setting('password_encryption') AS enc," +
          " current_setting('listen_addresses') AS addr, current_setting('server_version_num') AS version",
      );
      expect(rows[0]).to.include({ fsync: 'off', enc: 'scram-sha-256', addr: '127.0.0.1' });
      expect(rows[0]?.version).to.match(/^15/);
    } finally {
      await client.end();
    }
    const wrong = new pg.Client({ ...testPostgres(), password: 'wrong' });
    expect(
      await wrong.connect().then(
        () => 'in',
        (e: Error) => e.message,
      ),
    ).to.match(/password authentication failed/);
  });

  it('starts in a given directory, keeps it, restarts from it, and leaves no process behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgfn-testpg-'));
    try {
      const first = await startPostgres({ dir });
      const client = new pg.Client(first);
      await client.connect();
      await client.query('CREATE TABLE kept (x int)');
      await client.end();
      const processes = [first.pid, ...childPids(first.pid)];
      expect(processes.length).to.be.greaterThan(3); // postmaster, checkpointer, walwriter …
      await first.stop();
      expect(alive(processes)).to.deep.equal([]);
      expect(existsSync(join(dir, 'data', 'PG_VERSION'))).to.equal(true);

      const second = await startPostgres({ dir });
      const again = new pg.Client(second);
      await again.connect();
      expect((await again.query("SELECT to_regclass('kept')::text AS t")).rows[0]).to.deep.equal({ t: 'kept' });
      await again.end();
      const processes2 = [second.pid, ...childPids(second.pid)];
      await second.stop();
      expect(alive(processes2)).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
