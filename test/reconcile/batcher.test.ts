import { expect } from 'chai';
import { DEFAULT_WINDOWS, NamespaceBatcher, type Settled } from '../../functions/reconcile/src/batcher.js';
import type { Mode } from '../../functions/reconcile/src/events.js';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A runner that records every batch and answers each cluster with `<namespace>/<name>:<mode>`. */
function recorder(work: (ns: string, entries: ReadonlyMap<string, Mode>) => Promise<void> = async () => tick(20)) {
  const batches: { ns: string; entries: [string, Mode][] }[] = [];
  const log: string[] = []; // 'start <n>' / 'end <n>' in the order they happened
  const run = async (ns: string, entries: ReadonlyMap<string, Mode>): Promise<ReadonlyMap<string, Settled<string>>> => {
    batches.push({ ns, entries: [...entries] });
    const n = batches.length;
    log.push(`start ${n}`);
    await work(ns, entries);
    log.push(`end ${n}`);
    return new Map([...entries].map(([name, mode]) => [name, { ok: true, value: `${ns}/${name}:${mode}` }]));
  };
  return { batches, log, run };
}

describe('NamespaceBatcher', () => {
  it('runs a burst of events about many clusters of a namespace as one batch', async () => {
    const r = recorder();
    const b = new NamespaceBatcher(r.run, { fullMs: 10, observeMs: 10 });
    const answers = await Promise.all(['a', 'b', 'c', 'd'].map((n) => b.submit('ns', n, 'full')));
    expect(r.batches).to.have.length(1);
    expect(r.batches[0]?.entries.map(([n]) => n)).to.have.members(['a', 'b', 'c', 'd']);
    expect(answers).to.deep.equal(['ns/a:full', 'ns/b:full', 'ns/c:full', 'ns/d:full']);
    expect(b.busy).to.equal(0);
  });

  it('with the default windows starts the first full event into an idle namespace at once, and gathers a burst behind it', async () => {
    let release = (): void => undefined;
    const r = recorder(() => new Promise<void>((resolve) => (release = resolve)));
    const b = new NamespaceBatcher(r.run, DEFAULT_WINDOWS);
    const first = b.submit('ns', 'a', 'full');
    // A timer set after the batcher's fires after it: the first run has begun, alone.
    await tick(5);
    expect(r.batches.map((x) => x.entries.map(([n]) => n))).to.deep.equal([['a']]);
    const burst = ['b', 'c', 'd'].map((n) => b.submit('ns', n, 'full'));
    release();
    await first;
    await tick(5);
    release();
    await Promise.all(burst);
    expect(r.batches.map((x) => x.entries.map(([n]) => n))).to.deep.equal([['a'], ['b', 'c', 'd']]);
  });

  it('does the full reconcile when a cluster is named for both a status refresh and a full reconcile', async () => {
    const r = recorder();
    const b = new NamespaceBatcher(r.run, { fullMs: 10, observeMs: 10 });
    const [first, second] = await Promise.all([b.submit('ns', 'a', 'observe'), b.submit('ns', 'a', 'full')]);
    expect([first, second]).to.deep.equal(['ns/a:full', 'ns/a:full']);
    expect(r.batches).to.have.length(1);
  });

  it('starts full work after the short window, taking along status refreshes that wait for company', async () => {
    const r = recorder(() => Promise.resolve(undefined));
    // A status-refresh window far longer than mocha's timeout: only the full event can release the batch.
    const b = new NamespaceBatcher(r.run, { fullMs: 5, observeMs: 600_000 });
    const refresh = b.submit('ns', 'b', 'observe');
    await tick(20);
    expect(r.batches).to.have.length(0);
    const full = b.submit('ns', 'a', 'full');
    expect(await Promise.all([full, refresh])).to.deep.equal(['ns/a:full', 'ns/b:observe']);
    expect(r.batches).to.have.length(1);
  });

  it('gives a cluster named while its batch runs a second run that starts after the first ended', async () => {
    const r = recorder(async () => tick(50));
    const b = new NamespaceBatcher(r.run, { fullMs: 0, observeMs: 0 });
    const first = b.submit('ns', 'a', 'full');
    await tick(20); // the first batch is running now
    const late = [b.submit('ns', 'a', 'full'), b.submit('ns', 'a', 'full'), b.submit('ns', 'b', 'full')];
    await Promise.all([first, ...late]);
    expect(r.batches).to.have.length(2);
    expect(r.batches[1]?.entries.map(([n]) => n)).to.have.members(['a', 'b']);
    expect(r.log.indexOf('start 2')).to.be.greaterThan(r.log.indexOf('end 1'));
  });

  it('never runs two batches of one namespace at once, but runs namespaces side by side', async () => {
    let running = 0;
    let most = 0;
    const perNs = new Map<string, number>();
    const r = recorder(async (ns) => {
      running++;
      perNs.set(ns, (perNs.get(ns) ?? 0) + 1);
      most = Math.max(most, running);
      expect(perNs.get(ns)).to.equal(1);
      await tick(30);
      perNs.set(ns, (perNs.get(ns) ?? 0) - 1);
      running--;
    });
    const b = new NamespaceBatcher(r.run, { fullMs: 0, observeMs: 0 });
    const work: Promise<string>[] = [];
    for (let i = 0; i < 3; i++) {
      for (const ns of ['x', 'y']) work.push(b.submit(ns, `c${i}`, 'full'));
      await tick(10);
    }
    await Promise.all(work);
    expect(most).to.equal(2);
  });

  it("answers each caller with its own cluster's outcome: one failure rejects only its callers", async () => {
    const b = new NamespaceBatcher<string>(
      (_ns, entries) =>
        Promise.resolve(
          new Map(
            [...entries.keys()].map((n) => [
              n,
              n === 'bad' ? { ok: false as const, error: new Error('bad failed') } : { ok: true as const, value: n },
            ]),
          ),
        ),
      { fullMs: 5, observeMs: 5 },
    );
    const results = await Promise.allSettled([b.submit('ns', 'good', 'full'), b.submit('ns', 'bad', 'full')]);
    expect(results[0]).to.deep.equal({ status: 'fulfilled', value: 'good' });
    expect(results[1]?.status).to.equal('rejected');
    expect(((results[1] as PromiseRejectedResult).reason as Error).message).to.equal('bad failed');
  });

  it('rejects every caller of a batch whose run throws, and keeps working afterwards', async () => {
    let fail = true;
    const b = new NamespaceBatcher<string>(
      (_ns, entries) => {
        if (fail) return Promise.reject(new Error('config unreadable'));
        return Promise.resolve(new Map([...entries.keys()].map((n) => [n, { ok: true as const, value: n }])));
      },
      { fullMs: 5, observeMs: 5 },
    );
    const results = await Promise.allSettled([b.submit('ns', 'a', 'full'), b.submit('ns', 'b', 'full')]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    fail = false;
    expect(await b.submit('ns', 'a', 'full')).to.equal('a');
  });

  it('caps a batch, taking full work first', async () => {
    const r = recorder(async () => tick(5));
    const b = new NamespaceBatcher(r.run, { fullMs: 20, observeMs: 20 }, 2);
    await Promise.all([
      b.submit('ns', 'o1', 'observe'),
      b.submit('ns', 'o2', 'observe'),
      b.submit('ns', 'f1', 'full'),
      b.submit('ns', 'f2', 'full'),
      b.submit('ns', 'o3', 'observe'),
    ]);
    expect(r.batches.map((x) => x.entries.map(([n]) => n))).to.deep.equal([['f1', 'f2'], ['o1', 'o2'], ['o3']]);
  });

  it('ranks modes: full over spec over observe, for a cluster named more than once', async () => {
    const r = recorder(() => Promise.resolve(undefined));
    const b = new NamespaceBatcher(r.run, { fullMs: 10, observeMs: 10 });
    const answers = await Promise.all([
      b.submit('ns', 'a', 'observe'),
      b.submit('ns', 'a', 'spec'),
      b.submit('ns', 'b', 'spec'),
      b.submit('ns', 'b', 'observe'),
      b.submit('ns', 'c', 'spec'),
      b.submit('ns', 'c', 'full'),
    ]);
    expect(answers).to.deep.equal(['ns/a:spec', 'ns/a:spec', 'ns/b:spec', 'ns/b:spec', 'ns/c:full', 'ns/c:full']);
  });

  it('lets status refreshes of a large namespace wait longer, within a bound', () => {
    const b = new NamespaceBatcher(() => Promise.resolve(new Map()), {
      fullMs: 10,
      observeMs: 1000,
      observeMsPerCluster: 3,
      observeMaxMs: 5000,
    });
    expect(b.observeWindow('small')).to.equal(1000);
    b.noteNamespaceSize('small', 10);
    b.noteNamespaceSize('large', 1000);
    b.noteNamespaceSize('huge', 100_000);
    expect([b.observeWindow('small'), b.observeWindow('large'), b.observeWindow('huge')]).to.deep.equal([1030, 4000, 5000]);
  });
});
