import { expect } from 'chai';
import { parsePrimaryState, psqlAsPostgres } from '../../functions/rolling-update/src/primary-state.js';

describe('primary state (recovery, backup history files) as psql prints it', () => {
  it('reads a writable primary with backup history files', () => {
    expect(parsePrimaryState('f|000000010000000000000002.00000028.backup 000000010000000000000004.00000060.backup\n')).to.deep.equal({
      inRecovery: false,
      backupHistory: ['000000010000000000000002.00000028.backup', '000000010000000000000004.00000060.backup'],
    });
  });

  it('reads a server in recovery without history files', () => {
    expect(parsePrimaryState('t|')).to.deep.equal({ inRecovery: true, backupHistory: [] });
  });

  it('takes anything else as unknown, not as writable', () => {
    for (const out of ['', 'true|', 'false|', 'psql: error: connection to server failed', 'f'])
      expect(parsePrimaryState(out), JSON.stringify(out)).to.equal(undefined);
  });

  it('runs psql as postgres on the local socket, the query in one argument', () => {
    const command = psqlAsPostgres('SELECT 1');
    expect(command.slice(0, 3)).to.deep.equal(['/bin/su', 'postgres', '-c']);
    expect(command[3]).to.equal('psql -X -h /run/postgresql -d postgres -tAc "SELECT 1"');
  });
});
