import type { KubernetesObject, V1StatefulSet } from '@kubernetes/client-node';
import { expect } from 'chai';
import { APPLIED_HASH_ANNOTATION, withAppliedHash } from '../../functions/reconcile/src/applied-hash.js';
import { planChanges, type CompareStatefulSet } from '../../functions/reconcile/src/plan.js';

const svc = (name: string, port = 5432): KubernetesObject & { spec: unknown } => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'ns' },
  spec: { ports: [{ port }] },
});
const sts = (image: string): V1StatefulSet => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'acid-a', namespace: 'ns' },
  spec: { selector: {}, serviceName: 'acid-a', template: { spec: { containers: [{ name: 'postgres', image }] } } },
});
/** What the API server gives back: our object plus fields it fills in. */
const live = <T extends KubernetesObject>(o: T): T => ({
  ...withAppliedHash(o),
  metadata: { ...withAppliedHash(o).metadata, uid: 'u1', resourceVersion: '42', creationTimestamp: new Date() },
});
const never: CompareStatefulSet = () => {
  throw new Error('compare must not be called');
};
const same: CompareStatefulSet = () => ({ action: 'none', reasons: [] });

describe('planChanges', () => {
  it('applies every desired object when nothing exists', () => {
    const plan = planChanges([svc('acid-a'), svc('acid-a-repl')], [], never);
    expect(plan.steps.map((s) => s.op)).to.deep.equal(['apply', 'apply']);
    expect(plan.steps.every((s) => s.op === 'apply' && s.object.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] !== undefined)).to.equal(
      true,
    );
  });

  it('writes nothing when every live object carries the desired hash (no-op resync)', () => {
    const plan = planChanges([svc('acid-a'), sts('spilo:1')], [live(svc('acid-a')), live(sts('spilo:1'))], same);
    expect(plan.steps).to.deep.equal([]);
    expect(plan.unchanged).to.equal(2);
  });

  it('re-applies an object whose desired content changed', () => {
    const plan = planChanges([svc('acid-a', 6432)], [live(svc('acid-a', 5432))], never);
    expect(plan.steps).to.have.length(1);
    expect(plan.steps[0]).to.include({ op: 'apply', reason: 'changed' });
  });

  it('adopts an existing object we never applied (a Secret made by a user)', () => {
    const plan = planChanges([svc('acid-a')], [{ ...svc('acid-a'), metadata: { name: 'acid-a', namespace: 'ns' } }], never);
    expect(plan.steps[0]).to.include({ op: 'apply', reason: 'adopting an existing object' });
  });

  it('prunes objects we applied that are no longer desired, and never objects we did not apply', () => {
    const patroniConfigService = { ...svc('acid-a-config'), metadata: { name: 'acid-a-config', namespace: 'ns' } };
    const plan = planChanges([svc('acid-a')], [live(svc('acid-a')), live(svc('acid-a-pooler')), patroniConfigService], never);
    expect(plan.steps).to.have.length(1);
    expect(plan.steps[0]).to.deep.include({
      op: 'delete',
      ref: { apiVersion: 'v1', kind: 'Service', namespace: 'ns', name: 'acid-a-pooler' },
    });
  });

  it('never prunes a Secret unless allowed: a role leaving the manifest keeps its password', () => {
    const secret = (name: string): KubernetesObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ns' } });
    expect(planChanges([], [live(secret('gone-user'))], never).steps).to.deep.equal([]);
    const allowed = planChanges([], [live(secret('pooler'))], never, (o) => o.metadata?.name === 'pooler');
    expect(allowed.steps.map((s) => s.op)).to.deep.equal(['delete']);
  });

  it('follows compareStatefulSet: roll re-applies and reports the reasons, replace becomes a replace step', () => {
    const roll: CompareStatefulSet = () => ({ action: 'roll', reasons: ['image changed'] });
    const p1 = planChanges([sts('spilo:2')], [live(sts('spilo:1'))], roll);
    expect(p1.steps[0]).to.include({ op: 'apply' });
    expect(p1.rollReasons).to.deep.equal(['image changed']);
    const replace: CompareStatefulSet = () => ({ action: 'replace', reasons: ['volumeClaimTemplates changed'] });
    const p2 = planChanges([sts('spilo:2')], [live(sts('spilo:1'))], replace);
    expect(p2.steps[0]).to.include({ op: 'replace', reason: 'volumeClaimTemplates changed' });
  });
});
