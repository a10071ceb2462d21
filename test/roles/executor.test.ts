import { expect } from 'chai';
import { executePlan, isRetryable, openClient, Sessions, withRetries, type ProgressEvent, type Statement } from '@pgfn/roles';
import { cleanup, connection, query, uniquePrefix } from './helpers.js';

const stmt = (sql: string, more: Partial<Statement> = {}): Statement => ({
  kind: 'alter-role',
  sql,
  display: sql,
  reason: 'test',
  ...more,
});
const noSleep = (): Promise<void> => Promise.resolve();

describe('withRetries', () => {
  it('retries transient failures a bounded number of times', async () => {
    let calls = 0;
    const err = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const result = await withRetries(
      () => {
        calls++;
        return calls < 3 ? Promise.reject(err) : Promise.resolve('ok');
      },
      { attempts: 3, sleep: noSleep },
    );
    expect([result, calls]).to.deep.equal(['ok', 3]);
    calls = 0;
    await withRetries(
      () => {
        calls++;
        return Promise.reject(err);
      },
      { attempts: 2, sleep: noSleep },
    ).catch(() => undefined);
    expect(calls).to.equal(2);
  });
  it('does not retry errors that will not go away', async () => {
    let calls = 0;
    const err = Object.assign(new Error('syntax error'), { code: '42601' });
    await withRetries(
      () => {
        calls++;
        return Promise.reject(err);
      },
      { attempts: 5, sleep: noSleep },
    ).catch(() => undefined);
    expect(calls).to.equal(1);
  });
  const table: [string, object, boolean][] = [
    ['a lost connection', { message: 'Connection terminated unexpectedly' }, true],
    ['a refused connection', { message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' }, true],
    ['a replica during failover', { message: 'cannot execute CREATE ROLE in a read-only transaction', code: '25006' }, true],
    ['a statement timeout', { message: 'canceling statement due to statement timeout', code: '57014' }, true],
    ['a missing role', { message: 'role "x" does not exist', code: '42704' }, false],
    ['a permission problem', { message: 'permission denied', code: '42501' }, false],
  ];
  for (const [what, err, want] of table) it(`${want ? 'retries' : 'gives up on'} ${what}`, () => expect(isRetryable(err)).to.equal(want));
});

describe('executePlan against PostgreSQL 15', () => {
  const p = uniquePrefix();
  after(() => cleanup(p));

  it('reports every statement, keeps going past a failure, and treats optional failures as warnings', async () => {
    const events: ProgressEvent[] = [];
    const sessions = new Sessions(connection());
    try {
      const result = await executePlan(
        sessions,
        [
          stmt(`CREATE ROLE "${p}a"`),
          stmt('ALTER ROLE "no such role here" WITH LOGIN'),
          stmt('DROP ROLE "no such role either"', { optional: true }),
          stmt(`CREATE ROLE "${p}b"`),
        ],
        { onProgress: (e) => events.push(e), sleep: noSleep },
      );
      expect(result).to.include({ executed: 2, failed: 1, warnings: 1, retries: 0 });
      expect(result.errors[0]).to.include({ sqlState: '42704' });
      expect(events.map((e) => `${e.index}/${e.total} ${e.outcome}`)).to.deep.equal(['1/4 done', '2/4 failed', '3/4 warning', '4/4 done']);
    } finally {
      await sessions.close();
    }
  });

  it('reconnects and retries when its connection is killed mid-plan', async () => {
    const events: ProgressEvent[] = [];
    const sessions = new Sessions({ ...connection(), applicationName: `${p}victim` });
    try {
      const result = await executePlan(
        sessions,
        [
          stmt(`CREATE ROLE "${p}c"`),
          stmt(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${p}victim' AND pid <> pg_backend_pid()`),
          stmt(`SELECT pg_terminate_backend(pg_backend_pid())`),
          stmt(`CREATE ROLE "${p}d"`),
        ],
        { onProgress: (e) => events.push(e), sleep: noSleep, attempts: 3 },
      );
      // the third statement kills its own session every time: bounded retries, then an error
      expect(result.errors.map((e) => e.statement.sql)).to.deep.equal(['SELECT pg_terminate_backend(pg_backend_pid())']);
      expect(result.retries).to.equal(2);
      expect(events.filter((e) => e.outcome === 'retrying')).to.have.length(2);
      expect(await query('SELECT 1 FROM pg_roles WHERE rolname = $1', [`${p}d`])).to.have.length(1);
    } finally {
      await sessions.close();
    }
  });

  it('cancels a statement at the statement timeout', async () => {
    const sessions = new Sessions({ ...connection(), statementTimeoutMs: 100 });
    try {
      const result = await executePlan(sessions, [stmt('SELECT pg_sleep(5)')], { attempts: 2, sleep: noSleep });
      expect(result.errors[0]?.sqlState).to.equal('57014');
      // 57014 is query_canceled: the server cancelled it at the timeout, not pg_sleep's end
      expect(result.retries).to.equal(1);
    } finally {
      await sessions.close();
    }
  });

  it('connects with sslmode prefer to a server without TLS, and refuses with require', async () => {
    const plain = await openClient({ ...connection(), sslmode: 'prefer' }, 'postgres');
    expect((await plain.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0]?.ssl).to.equal(false);
    await plain.end();
    const required = await openClient({ ...connection(), sslmode: 'require', connectTimeoutMs: 2000 }, 'postgres').then(
      () => 'connected',
      (e: Error) => e.message,
    );
    expect(required).to.match(/does not support SSL/);
  });
});
