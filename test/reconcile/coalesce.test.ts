import { expect } from 'chai';
import { Coalescer } from '../../functions/reconcile/src/coalesce.js';

describe('Coalescer', () => {
  const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

  it('runs a burst of requests for one key as the current run plus one more', async () => {
    const c = new Coalescer();
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const work = async (): Promise<void> => {
      runs++;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await tick(20);
      concurrent--;
    };
    await Promise.all(Array.from({ length: 10 }, () => c.run('ns/a', work)));
    expect(runs).to.equal(2);
    expect(maxConcurrent).to.equal(1);
    expect(c.busy).to.equal(0);
  });

  it('keeps keys independent', async () => {
    const c = new Coalescer();
    const order: string[] = [];
    await Promise.all([
      c.run('a', async () => { order.push('a1'); await tick(20); order.push('a1 done'); }),
      c.run('b', async () => { order.push('b1'); await tick(1); order.push('b1 done'); }),
    ]);
    expect(order.indexOf('b1 done')).to.be.lessThan(order.indexOf('a1 done'));
  });

  it('hands a failure to the waiters of that run only, and runs again afterwards', async () => {
    const c = new Coalescer();
    let n = 0;
    const first = c.run('k', async () => { n++; await tick(); throw new Error('boom'); });
    const second = c.run('k', async () => { n++; });
    const failure = await first.then(() => undefined, (e: Error) => e.message);
    expect(failure).to.equal('boom');
    await second;
    expect(n).to.equal(2);
    await c.run('k', async () => { n++; });
    expect(n).to.equal(3);
  });
});
