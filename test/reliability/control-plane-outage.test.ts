// Control-plane outage mid-reconcile (issue 20, item 3; ADR 0081): on a private control plane (the
// shared one serves the other test files, so it is never stopped), reconcile's third write of a new
// cluster finds kube-apiserver, or etcd, gone: the component is killed between two requests and kept
// down 30 s. The invocation must answer 503 (the Broker redelivers) or, for etcd, finish once the API
// server's request to it succeeds (the API server holds writes while etcd is away, and the client's
// retries outlast 30 s); the function keeps serving; and once the component is back, the
// Broker's redelivery converges the cluster: its objects equal a fresh reconcile of its spec and every
// credential Secret written before the outage keeps its password.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { API_VERSION, DEFAULT_OPERATOR_CONFIG, POSTGRESQL_KIND, type Postgresql } from '@pgfn/api';
import { ControlPlane } from '@pgfn/controlplane';
import { KubeClient } from '@pgfn/kube';
import { ensureCrds } from '../crds/install.js';
import { example, onKwok, requestEvent, resourceEvent, startReconcile } from '../reconcile/support.js';
import { createNamespace } from '../support/kube.js';
import { divergences, passwords } from './convergence.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const WRITES = new Set(['apply', 'create', 'delete', 'patch', 'patch-status', 'replace']);
const OUTAGE_MS = 30_000;
/** The Broker's retry window: redeliveries after the component is back must succeed within it. */
const RETRY_WINDOW_MS = 60_000;
const CONFIG = DEFAULT_OPERATOR_CONFIG;

describe('control-plane outage mid-reconcile: 503, then convergence (private control plane)', function () {
  this.timeout(600_000);
  let cp: ControlPlane;
  let kc: k8s.KubeConfig;
  let kube: KubeClient;
  let ns: { name: string; cleanup: () => Promise<void> };

  before(async () => {
    cp = await ControlPlane.start({});
    kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    kube = new KubeClient(kc);
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'outage');
  });
  after(async () => {
    await cp?.stop();
  });

  const read = async (name: string): Promise<Cluster> => {
    const c = await kube.get<Cluster>({ apiVersion: API_VERSION, kind: POSTGRESQL_KIND, namespace: ns.name, name });
    if (c === undefined) throw new Error(`${name} is gone`);
    return c;
  };

  for (const component of ['kube-apiserver', 'etcd']) {
    it(`${component} killed after reconcile's second write and down 30 s: no crash, no half state, converges after return`, async () => {
      const name = `acid-out-${component === 'etcd' ? 'etcd' : 'api'}`;
      await kube.create<Cluster>(onKwok(example('minimal.yaml', ns.name, name)));
      let writes = 0;
      let cutAt = 0;
      // The component comes back 30 s after it went, whatever the function is doing meanwhile.
      let restored: Promise<number> | undefined;
      const fn = await startReconcile(kc, ns.name, CONFIG, {
        observe: (verb) => {
          if (!WRITES.has(verb) || cutAt > 0) return;
          if (writes === 2) {
            cutAt = Date.now();
            cp.outage(component);
            restored = new Promise((r) => setTimeout(r, OUTAGE_MS)).then(() => cp.restore(component)).then(() => Date.now());
            return;
          }
          writes++;
        },
      });
      try {
        const event = resourceEvent('add', await read(name));
        const first = await fn.post(event);
        expect(cutAt, 'the outage began mid-reconcile').to.be.greaterThan(0);
        const body = await first.text();
        console.log(`      ${component}: answered ${first.status} after ${Date.now() - cutAt} ms (${body.slice(0, 160)})`);
        // Never a crash (5xx other than 503) nor a silent 2xx while the API server itself is gone.
        if (component === 'kube-apiserver') expect(first.status, body).to.equal(503);
        else expect([200, 503], body).to.include(first.status);

        // The Broker redelivers while the component is down: still 503, the function still serves.
        if (Date.now() - cutAt < OUTAGE_MS - 5000 && component === 'kube-apiserver') {
          const again = await fn.post(event);
          expect(again.status, 'a redelivery during the outage').to.equal(503);
        }
        const back = await (restored ?? Promise.reject(new Error('no outage')));
        const kept = await passwords(kube, await read(name), CONFIG);

        // Redeliveries, as the Broker's backoff would send them, until one succeeds.
        let answered = 0;
        for (let delay = 100; answered !== 200; delay = Math.min(delay * 2, 5000)) {
          expect(Date.now() - back, `a redelivery answered 200 within ${RETRY_WINDOW_MS} ms`).to.be.lessThan(RETRY_WINDOW_MS);
          answered = (await fn.post(requestEvent(ns.name, name))).status;
          if (answered !== 200) await new Promise((r) => setTimeout(r, delay));
        }
        console.log(`      ${component}: converged ${Date.now() - back} ms after it was back`);
        expect(await divergences(kube, { namespace: ns.name, name }, CONFIG), 'differences from a fresh reconcile').to.deep.equal([]);
        const after = await passwords(kube, await read(name), CONFIG);
        for (const [secret, password] of kept) expect(after.get(secret), `${secret} keeps its password`).to.equal(password);
      } finally {
        await fn.stop();
      }
    });
  }
});
