// Issue 20, item 2 (reconcile): the function dies after each of the k writes of a reconcile — of a new
// cluster, and of an edit touching many objects — and a fresh instance gets the next event: it must
// converge to a fresh reconcile of the spec (no orphan, nothing missing), every password kept.
import { expect } from 'chai';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { CRASH_SCENARIOS, runCrashScenario } from './crash.js';
import { removeNamespaces } from './event-chaos.js';

describe('reliability: reconcile killed after each of its writes', function () {
  this.timeout(300_000);
  let ns: { name: string };

  before(async () => {
    await ensureCrds(adminConfig());
    ns = await createNamespace(adminConfig(), 'crash');
  });
  after(async () => removeNamespaces(adminConfig(), [ns.name]));

  for (const scenario of CRASH_SCENARIOS) {
    it(`${scenario.what}: the next event converges after a crash at every write, passwords kept`, async () => {
      const report = await runCrashScenario(adminConfig(), ns.name, scenario);
      expect(report.failures).to.deep.equal([]);
      expect(report.writes, 'writes of the reconcile').to.be.greaterThan(5);
      console.log(`      ${scenario.what}: crashed after each of ${report.writes} writes, converged every time`);
    });
  }
});
