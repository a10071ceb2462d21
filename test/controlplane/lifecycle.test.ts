import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ControlPlane, isAlive } from '@pgfn/controlplane';
import { eventually } from '../support/kube.js';

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the test control plane: lifecycle', function () {
  this.timeout(180_000);

  it('stops every component and leaves no process or folder behind', async () => {
    const cp = await ControlPlane.start();
    const { pids, dir } = cp.state;
    expect(pids).to.have.length(5);
    expect(pids.every(isAlive)).to.equal(true);
    await cp.stop();
    expect(pids.filter(groupAlive), 'process groups still alive').to.deep.equal([]);
    expect(existsSync(dir)).to.equal(false);
  });

  it('cleans up after an owner that was killed outright (SIGKILL)', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/start-and-wait.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, 'no-kwok'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const state = await eventually(
      'the child control plane to be up',
      () => {
        const line = out.split('\n').find((l) => l.startsWith('{'));
        return Promise.resolve(line === undefined ? undefined : (JSON.parse(line) as { pids: number[] }));
      },
      120_000,
      250,
    );
    expect(state.pids.every(isAlive)).to.equal(true);
    child.kill('SIGKILL');
    await eventually('every component group gone', () => Promise.resolve(state.pids.some(groupAlive) ? undefined : true), 30_000, 250);
  });
});
