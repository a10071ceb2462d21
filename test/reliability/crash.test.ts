// Issue 20, item 2 (reconcile): the function dies after each of the k writes of a reconcile — of a new
// cluster, and of an edit touching many objects — and a fresh instance (nothing of the dead one's
// memory) gets the next event. It must converge to a fresh reconcile of the spec (no orphan object, no
// object missing), and every credential Secret that existed after the crash keeps its password (no
// second password drawn for a role). The crash is the invocation stopping at the (n+1)-th write, before
// it is sent: the first n reached the API server, nothing after them did.
import type { KubernetesObject } from '@kubernetes/client-node';
import { expect } from 'chai';
import { API_VERSION, DEFAULT_OPERATOR_CONFIG, POSTGRESQL_KIND, type PostgresSpec, type Postgresql } from '@pgfn/api';
import { KubeClient } from '@pgfn/kube';
import { ensureCrds } from '../crds/install.js';
import { example, onKwok, requestEvent, resourceEvent, startReconcile } from '../reconcile/support.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { divergences, passwords } from './convergence.js';
import { removeNamespaces } from './event-chaos.js';

type Cluster = Postgresql & KubernetesObject;
const WRITES = new Set(['apply', 'create', 'delete', 'patch', 'patch-status', 'replace']);
const CONFIG = DEFAULT_OPERATOR_CONFIG;

class Crash extends Error {}

describe('reliability: reconcile killed after each of its writes', function () {
  this.timeout(300_000);
  let ns: { name: string };
  let kube: KubeClient;

  before(async () => {
    const kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'crash');
    kube = new KubeClient(kc);
  });
  after(async () => removeNamespaces(adminConfig(), [ns.name]));

  /** Posts `event` to an instance that dies after `writes` writes; returns how many it made (or all, if it finished). */
  async function crashAfter(
    writes: number,
    event: () => Promise<Parameters<typeof resourceEvent>[1]>,
  ): Promise<{ made: number; crashed: boolean }> {
    let made = 0;
    let crashed = false;
    const fn = await startReconcile(adminConfig(), ns.name, CONFIG, {
      observe: (verb) => {
        if (!WRITES.has(verb)) return;
        if (made >= writes) {
          crashed = true;
          throw new Crash(`crashed after ${writes} write(s)`);
        }
        made++;
      },
    });
    try {
      await fn.post(resourceEvent('update', await event()));
    } finally {
      await fn.stop();
    }
    return { made, crashed };
  }

  async function converges(name: string): Promise<void> {
    const fn = await startReconcile(adminConfig(), ns.name, CONFIG);
    try {
      expect((await fn.post(requestEvent(ns.name, name))).status, name).to.equal(200);
    } finally {
      await fn.stop();
    }
  }

  const read = async (name: string): Promise<Cluster> => {
    const c = await kube.get<Cluster>({ apiVersion: API_VERSION, kind: POSTGRESQL_KIND, namespace: ns.name, name });
    if (c === undefined) throw new Error(`${name} is gone`);
    return c;
  };

  const scenarios: [string, (spec: PostgresSpec) => PostgresSpec | undefined][] = [
    ['a new cluster', () => undefined],
    [
      'an edit touching many objects (instances, users, pooler, logical backup, resources)',
      (s) => ({
        ...s,
        numberOfInstances: 3,
        users: { ...s.users, reader: [], writer: ['createdb'] },
        enableConnectionPooler: true,
        enableLogicalBackup: true,
        resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      }),
    ],
  ];

  for (const [what, edit] of scenarios) {
    it(`${what}: the next event converges after a crash at every write, passwords kept`, async () => {
      const report: string[] = [];
      let total: number | undefined;
      for (let n = 0; ; n++) {
        const name = `acid-${edit(example('minimal.yaml', ns.name).spec) === undefined ? 'new' : 'edit'}-${n}`;
        const base = onKwok(example('minimal.yaml', ns.name, name));
        await kube.create<Cluster>(base);
        const edited = edit(base.spec);
        if (edited !== undefined) {
          await converges(name); // running first, then the edit is what crashes
          const cur = await read(name);
          await kube.replace<Cluster>({ ...cur, spec: edited });
        }
        const { made, crashed } = await crashAfter(n, () => read(name));
        const kept = await passwords(kube, await read(name), CONFIG);
        await converges(name);
        const found = await divergences(kube, { namespace: ns.name, name }, CONFIG);
        const after = await passwords(kube, await read(name), CONFIG);
        const changed = [...kept].filter(([secret, pw]) => after.get(secret) !== pw).map(([secret]) => secret);
        if (found.length > 0 || changed.length > 0)
          report.push(`crash after write ${n}: ${[...found, ...changed.map((s) => `${s}: password changed`)].join('; ')}`);
        if (!crashed) {
          total = made;
          break;
        }
      }
      expect(report).to.deep.equal([]);
      expect(total, 'writes of the reconcile').to.be.greaterThan(5);
      console.log(`      ${what}: crashed after each of ${total} writes, converged every time`);
    });
  }
});
