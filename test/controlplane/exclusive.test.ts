// Heavy files take turns by lane (ADR 0090, 0144): real processes holding real lock directories.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { EXCLUSIVE_LOCK_ENV, repoRoot } from '@pgfn/controlplane';

const FIXTURE = join(repoRoot, 'test/controlplane/fixtures/lane-holder.ts');

describe('heavy-file lanes (ADR 0144, 0145): files of one lane take turns, files of different lanes do not wait', function () {
  this.timeout(60_000);
  let dir: string;
  const children: ChildProcess[] = [];

  /** A process taking `lanes`; `held` resolves when it says it holds them. */
  const holder = (lanes: string): { child: ChildProcess; held: Promise<number> } => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, lanes], {
      env: { ...process.env, [EXCLUSIVE_LOCK_ENV]: dir },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
    const held = new Promise<number>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('held')) resolve(Date.now());
      });
      child.on('exit', (code) => reject(new Error(`holder of ${lanes} exited (${code}) before holding`)));
    });
    held.catch(() => undefined);
    return { child, held };
  };
  const release = async (child: ChildProcess): Promise<void> => {
    const exited = new Promise((r) => child.once('exit', r));
    child.stdin?.end();
    await exited;
  };
  const asserted = (lanes: string, env: NodeJS.ProcessEnv): Promise<string> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, `assert:${lanes}`], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', () => resolve(out.trim()));
    });
  const pending = async (p: Promise<number>, ms: number): Promise<boolean> =>
    Promise.race([p.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), ms))]);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgfn-lanes-'));
  });
  afterEach(() => {
    for (const c of children.splice(0)) c.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a file of another lane runs at once; one of the same lane waits until the first gives it back', async () => {
    const misc = holder('misc');
    await misc.held;
    const knative = holder('knative');
    await knative.held;
    const second = holder('misc');
    expect(await pending(second.held, 1500), 'a second misc file waits').to.equal(true);
    const released = Date.now();
    await release(misc.child);
    expect(await second.held).to.be.at.least(released);
    await release(knative.child);
    await release(second.child);
  });

  it('the nodes lane has two slots: two files share it, a third waits, and one needing it whole waits for both', async () => {
    const first = holder('nodes');
    const second = holder('nodes');
    await Promise.all([first.held, second.held]);
    const third = holder('nodes');
    expect(await pending(third.held, 1500), 'a third nodes file waits').to.equal(true);
    await release(first.child);
    await third.held;
    const whole = holder('nodes:all');
    expect(await pending(whole.held, 1500), 'waits while any nodes file runs').to.equal(true);
    await release(second.child);
    expect(await pending(whole.held, 1000), 'still one nodes file').to.equal(true);
    await release(third.child);
    await whole.held;
    const after = holder('nodes');
    expect(await pending(after.held, 1500), 'no nodes file beside it').to.equal(true);
    await release(whole.child);
    await after.held;
    await release(after.child);
  });

  it('a file needing every lane (a serial run) waits for each, and holds them all', async () => {
    const misc = holder('misc');
    await misc.held;
    const all = holder('knative:all,misc:all,nodes:all');
    expect(await pending(all.held, 1500), 'waits for the misc file').to.equal(true);
    await release(misc.child);
    await all.held;
    const knative = holder('knative');
    expect(await pending(knative.held, 1500), 'then no knative file starts beside it').to.equal(true);
    await release(all.child);
    await knative.held;
    await release(knative.child);
  });

  it('a dead holder does not block: its lane is taken over', async () => {
    const dead = holder('misc');
    await dead.held;
    dead.child.kill('SIGKILL');
    await new Promise((r) => dead.child.once('exit', r));
    const next = holder('misc');
    await next.held;
    await release(next.child);
  });

  it('a heavy part fails at once without its lane, naming it; every holder above passed it, as does no run at all', async () => {
    const env = { ...process.env, [EXCLUSIVE_LOCK_ENV]: dir };
    expect(await asserted('nodes', env)).to.match(/does not hold the nodes lane.*heavy-files\.ts/);
    const knative = holder('knative');
    await knative.held;
    expect(await asserted('nodes', env), 'another lane held by another process').to.match(/does not hold the nodes lane/);
    const one = holder('nodes');
    await one.held;
    expect(await asserted('nodes:all', env), 'a slot held by another process').to.match(/does not hold the nodes:all lane/);
    await release(knative.child);
    await release(one.child);
    const outside = { ...process.env };
    delete outside[EXCLUSIVE_LOCK_ENV];
    expect(await asserted('nodes', outside), 'outside a test run').to.equal('allowed');
  });
});
