// The fleet's restore-test queue (ADR 0071): the pure rules, then the state in a real API server,
// shared by several function instances racing, across a cold start and a holder that died.
import { expect } from 'chai';
import { KubeClient } from '@pgfn/kube';
import { admit, finish, renew, type QueueRules, type QueueState } from '../../functions/backup-verify/src/restore-queue.js';
import { QUEUE_ANNOTATION, QUEUE_LEASE, restoreSlots } from '../../functions/backup-verify/src/restore-slots.js';
import { kubeconfigForFunction } from '../support/fn-identity.js';
import { adminConfig, createNamespace } from '../support/kube.js';

const RULES: QueueRules = { limit: 2, runningTtlSeconds: 90, waitingTtlSeconds: 7200 };
const T0 = new Date('2026-12-05T12:00:00Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);

describe('backup-verify: the restore-test queue, rules', () => {
  it('admits up to the limit; the others wait, never-tested and oldest-tested first', () => {
    let state: QueueState = {
      'ns/old': { state: 'idle', lastTested: '2026-12-01T00:00:00Z' },
      'ns/mid': { state: 'idle', lastTested: '2026-12-03T00:00:00Z' },
      'ns/recent': { state: 'idle', lastTested: '2026-12-05T11:00:00Z' },
    };
    const ask = (key: string, now: Date, holder = `h-${key}`): ReturnType<typeof admit> => {
      const a = admit({ state, key, holder, now, rules: RULES });
      state = a.next;
      return a;
    };
    expect(ask('ns/recent', at(0)).admitted).to.equal(true);
    expect(ask('ns/old', at(1)).admitted).to.equal(true);
    // full: later arrivals wait in fair order whatever their arrival order
    expect(ask('ns/mid', at(2))).to.include({ admitted: false, position: 1, waiting: 1 });
    expect(ask('ns/new', at(3))).to.include({ admitted: false, position: 1, waiting: 2 });
    expect(ask('ns/mid', at(4))).to.include({ admitted: false, position: 2, waiting: 2 });
    // one ends: the never-tested cluster is the head; the other still waits even if it asks first
    const done = finish({ state, key: 'ns/recent', holder: 'h-ns/recent', now: at(10), rules: RULES });
    state = done.next;
    expect(done.heads).to.deep.equal(['ns/new']);
    expect(state['ns/recent']).to.deep.equal({ state: 'idle', lastTested: at(10).toISOString() });
    expect(ask('ns/mid', at(11)).admitted).to.equal(false);
    expect(ask('ns/new', at(12)).admitted).to.equal(true);
    // the same holder asking again keeps its slot (a redelivery)
    expect(ask('ns/new', at(13)).admitted).to.equal(true);
    expect(Object.values(state).filter((e) => e.state === 'running')).to.have.length(2);
  });

  it('a running holder that stops renewing frees its slot after the time to live; a stale holder cannot renew', () => {
    let state: QueueState = {};
    state = admit({ state, key: 'ns/a', holder: 'dead', now: at(0), rules: RULES }).next;
    state = admit({ state, key: 'ns/b', holder: 'alive', now: at(0), rules: RULES }).next;
    expect(admit({ state, key: 'ns/c', holder: 'c', now: at(60), rules: RULES }).admitted).to.equal(false);
    state = renew({ state, key: 'ns/b', holder: 'alive', now: at(60) }).next;
    const later = admit({ state, key: 'ns/c', holder: 'c', now: at(100), rules: RULES });
    expect(later.admitted).to.equal(true);
    expect(later.next['ns/a']).to.deep.equal({ state: 'idle' });
    expect(renew({ state: later.next, key: 'ns/a', holder: 'dead', now: at(101) }).held).to.equal(false);
    // a waiter that never comes back leaves the queue after its own time to live
    const waiting = admit({ state: later.next, key: 'ns/d', holder: 'd', now: at(101), rules: RULES });
    expect(waiting).to.include({ admitted: false, position: 1 });
    expect(admit({ state: waiting.next, key: 'ns/e', holder: 'e', now: at(3600), rules: RULES }).next['ns/d']).to.include({
      state: 'waiting',
    });
    expect(admit({ state: waiting.next, key: 'ns/e', holder: 'e', now: at(101 + 7200), rules: RULES }).next['ns/d']).to.deep.equal({
      state: 'idle',
    });
  });
});

describe('backup-verify: the restore-test queue in the API (a Lease), shared by instances', function () {
  this.timeout(120_000);
  let ns: { name: string; cleanup: () => Promise<void> };
  before(async () => {
    ns = await createNamespace(adminConfig(), 'restore-queue');
  });
  after(async () => ns?.cleanup());

  it('eight instances racing for two slots: exactly two run, the rest queue in fair order; a cold start and a dead holder', async () => {
    // as the function's own account: its Lease rights are all the queue needs
    const kube = new KubeClient(await kubeconfigForFunction('backup-verify'));
    let clock = T0;
    const instance = (): ReturnType<typeof restoreSlots> => restoreSlots({ kube, namespace: ns.name, rules: RULES, now: () => clock });
    // history: c0 tested longest ago … c7 most recently
    const seed = instance();
    for (let i = 0; i < 8; i++) {
      clock = at(i);
      expect((await seed.enter(`${ns.name}/c${i}`, 'seed')).admitted).to.equal(true);
      await seed.leave(`${ns.name}/c${i}`, 'seed');
    }
    const stored = await seed.read();
    expect(Object.values(stored).map((e) => e.state)).to.deep.equal(Array(8).fill('idle'));
    clock = at(100);
    // eight instances (one per cluster, as eight function pods would be) ask at once, newest-tested first
    const order = [7, 6, 5, 4, 3, 2, 1, 0];
    const answers = await Promise.all(order.map((i) => instance().enter(`${ns.name}/c${i}`, `pod-${i}`)));
    const admitted = order.filter((_, n) => answers[n]?.admitted === true);
    expect(admitted.length, 'admitted at once').to.equal(2);
    let state = await instance().read();
    expect(Object.entries(state).filter(([, e]) => e.state === 'running')).to.have.length(2);
    // whoever won the race, the waiters are ordered oldest-tested first; ask again to read positions
    const waiting = order.filter((i) => !admitted.includes(i)).sort((a, b) => a - b);
    for (const [pos, i] of waiting.entries()) {
      const again = await instance().enter(`${ns.name}/c${i}`, `pod-${i}`);
      expect(again, `c${i}`).to.include({ admitted: false, position: pos + 1, waiting: 6 });
    }
    // a cold start: a brand-new instance reads the same queue from the API
    const cold = instance();
    state = await cold.read();
    expect(Object.values(state).filter((e) => e.state === 'waiting')).to.have.length(6);
    // one runner finishes: the head (oldest-tested waiter) is named to go next, and is admitted
    const [first, second] = admitted;
    const heads = await cold.leave(`${ns.name}/c${first ?? -1}`, `pod-${first ?? -1}`);
    expect(heads).to.deep.equal([`${ns.name}/c${waiting[0] ?? -1}`]);
    expect((await cold.enter(`${ns.name}/c${waiting[1] ?? -1}`, `pod-${waiting[1] ?? -1}`)).admitted).to.equal(false);
    expect((await cold.enter(`${ns.name}/c${waiting[0] ?? -1}`, `pod-${waiting[0] ?? -1}`)).admitted).to.equal(true);
    // the other runner dies (stops renewing): after the slot's time to live the next head gets it
    clock = at(100 + 60);
    await cold.renew(`${ns.name}/c${waiting[0] ?? -1}`, `pod-${waiting[0] ?? -1}`);
    expect((await cold.enter(`${ns.name}/c${waiting[1] ?? -1}`, `pod-${waiting[1] ?? -1}`)).admitted).to.equal(false);
    clock = at(100 + RULES.runningTtlSeconds + 1);
    expect((await cold.enter(`${ns.name}/c${waiting[1] ?? -1}`, `pod-${waiting[1] ?? -1}`)).admitted).to.equal(true);
    expect(await cold.renew(`${ns.name}/c${second ?? -1}`, `pod-${second ?? -1}`)).to.equal(false);
    // the state is plain JSON on the Lease, for anyone to read
    const lease = await new KubeClient(adminConfig()).get<{ metadata: { annotations?: Record<string, string> } } & { kind: string }>({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: ns.name,
      name: QUEUE_LEASE,
    });
    expect(Object.keys(JSON.parse(lease?.metadata.annotations?.[QUEUE_ANNOTATION] ?? '{}') as object)).to.have.length(8);
  });
});
