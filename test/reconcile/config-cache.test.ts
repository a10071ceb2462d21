import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG } from '@pgfn/api';
import { cachedLoader, type LoadedConfig } from '@pgfn/fn-runtime';

describe('cachedLoader (operator configuration reads)', () => {
  interface Harness {
    load: (maxAgeMs?: number) => Promise<LoadedConfig>;
    reads: () => number;
    advance: (ms: number) => void;
    hold: () => void;
    release: () => void;
  }
  const setup = (): Harness => {
    let now = 1_000;
    let reads = 0;
    let gate: Promise<void> = Promise.resolve();
    let open: () => void = () => undefined;
    const load = cachedLoader(
      async () => {
        reads++;
        await gate;
        return { config: { ...DEFAULT_OPERATOR_CONFIG, workers: reads }, problems: [] };
      },
      () => now,
    );
    return {
      load,
      reads: () => reads,
      advance: (ms) => {
        now += ms;
      },
      hold: () => {
        gate = new Promise((r) => {
          open = r;
        });
      },
      release: () => open(),
    };
  };

  it('reads afresh unless the caller accepts an age, and then only while the last read is that young', async () => {
    const s = setup();
    await s.load();
    await s.load(0);
    expect(s.reads()).to.equal(2);
    expect((await s.load(10_000)).config.workers).to.equal(2);
    expect(s.reads()).to.equal(2);
    s.advance(10_001);
    expect((await s.load(10_000)).config.workers).to.equal(3);
    expect(s.reads()).to.equal(3);
  });

  it('shares one read in flight between concurrent callers', async () => {
    const s = setup();
    s.hold();
    const all = Promise.all([s.load(), s.load(), s.load(5)]);
    s.release();
    const got = await all;
    expect(s.reads()).to.equal(1);
    expect(got.map((g) => g.config.workers)).to.deep.equal([1, 1, 1]);
  });
});
