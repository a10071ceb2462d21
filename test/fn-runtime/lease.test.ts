// The kit's per-cluster Lease against the real API server: two holders racing, one wins; the loser
// takes over only once the lease has expired (its clock moved past renewTime + duration), after which
// the first holder's renewal fails; a release frees it at once.
import { expect } from 'chai';
import type * as k8s from '@kubernetes/client-node';
import { ClusterLease, clusterLeaseName } from '@pgfn/fn-runtime';
import { KubeClient } from '@pgfn/kube';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';

describe('fn-runtime: ClusterLease', function () {
  this.timeout(60_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };

  before(async () => {
    kc = adminConfig();
    ns = await createNamespace(kc, 'fn-lease');
  });
  after(async () => {
    await ns.cleanup();
  });

  const lease = (name: string, holder: string, now?: () => Date): ClusterLease =>
    new ClusterLease({ kube: new KubeClient(kc), namespace: ns.name, name, holder, durationSeconds: 30, ...(now ? { now } : {}) });

  it('lets exactly one of two racing holders have it, and the other not until it expires', async () => {
    const name = clusterLeaseName('acid-race', 'rolling-update');
    expect(name).to.equal('acid-race-rolling-update');
    const a = lease(name, 'pod-a/1');
    const b = lease(name, 'pod-b/1');
    const [gotA, gotB] = await Promise.all([a.acquire(), b.acquire()]);
    expect([gotA, gotB].filter(Boolean)).to.have.length(1);
    const [winner, loser] = gotA ? [a, b] : [b, a];
    const winnerId = gotA ? 'pod-a/1' : 'pod-b/1';
    expect((await loser.state()).holder).to.equal(winnerId);
    expect(await loser.acquire()).to.equal(false);
    // Acquiring again and renewing are the holder's right.
    expect(await winner.acquire()).to.equal(true);
    expect(await winner.renew()).to.equal(true);
    expect(await loser.renew()).to.equal(false);
  });

  it('lets another take over an expired lease; the old holder then cannot renew', async () => {
    const name = clusterLeaseName('acid-expiry', 'backup-verify');
    const a = lease(name, 'pod-a/2');
    expect(await a.acquire()).to.equal(true);
    const { expiresAt } = await a.state();
    expect(expiresAt).to.be.instanceOf(Date);
    // Another holder whose clock is just past the expiry (a holder that stopped renewing).
    const later = lease(name, 'pod-b/2', () => new Date((expiresAt as Date).getTime() + 1_000));
    const early = lease(name, 'pod-c/2', () => new Date((expiresAt as Date).getTime() - 1_000));
    expect(await early.acquire()).to.equal(false);
    expect(await later.acquire()).to.equal(true);
    expect((await a.state()).holder).to.equal('pod-b/2');
    expect(await a.renew()).to.equal(false);
    const obj = await new KubeClient(kc).get<k8s.V1Lease>({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      namespace: ns.name,
      name,
    });
    expect(obj?.spec?.leaseTransitions).to.equal(1);
  });

  it('frees the lease on release, so another acquires it at once; a release by a non-holder changes nothing', async () => {
    const name = clusterLeaseName('acid-release', 'rolling-update');
    const a = lease(name, 'pod-a/3');
    const b = lease(name, 'pod-b/3');
    expect(await a.acquire()).to.equal(true);
    await b.release();
    expect((await a.state()).holder).to.equal('pod-a/3');
    await a.release();
    expect((await a.state()).holder).to.equal(undefined);
    expect(await b.acquire()).to.equal(true);
  });

  it('holds the lease for the work and releases it after; a second holder meanwhile gets nothing', async () => {
    const name = clusterLeaseName('acid-hold', 'rolling-update');
    const a = lease(name, 'pod-a/4');
    const b = lease(name, 'pod-b/4');
    const held = await a.hold(async (signal) => {
      expect((await b.hold(() => Promise.resolve('b worked'))) ?? 'not acquired').to.equal('not acquired');
      expect((await a.state()).holder).to.equal('pod-a/4');
      return signal.aborted ? 'aborted' : 'a worked';
    });
    expect(held).to.deep.equal({ value: 'a worked' });
    expect((await a.state()).holder).to.equal(undefined);
    expect(await b.hold(() => Promise.resolve('b worked'))).to.deep.equal({ value: 'b worked' });
  });

  it('aborts the work when a renewal finds the lease taken over', async () => {
    const name = clusterLeaseName('acid-lost', 'backup-verify');
    const a = lease(name, 'pod-a/5');
    const held = await a.hold(async (signal) => {
      // The thief's clock runs a second past the lease's duration, so it sees the lease expired however
      // recently a renewed it. Its read-then-write can still lose to a renewal (every 50 ms here, and a
      // round trip takes longer than that on a loaded machine): a 409, so it tries again, as a real one would.
      const thief = lease(name, 'pod-b/5', () => new Date(Date.now() + 31_000));
      await eventually('the thief takes over the lease', async () => ((await thief.acquire()) ? true : undefined), 10_000, 20);
      await eventually('the work told that the lease is lost', () => Promise.resolve(signal.aborted ? true : undefined), 10_000, 20);
      return (signal.reason as Error).message;
    }, 50);
    expect(held?.value).to.match(/was lost/);
    // Releasing after the loss leaves the new holder's lease alone.
    expect((await a.state()).holder).to.equal('pod-b/5');
  });
});
