import type { KubernetesObject, V1StatefulSet } from '@kubernetes/client-node';
import { expect } from 'chai';
import { APPLIED_HASH_ANNOTATION, withAppliedHash } from '../../functions/reconcile/src/applied-hash.js';
import { compareLive } from '@pgfn/builder';
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
    const plan = planChanges([svc('acid-a'), svc('acid-a-repl')], [], { compareStatefulSet: never });
    expect(plan.steps.map((s) => s.op)).to.deep.equal(['apply', 'apply']);
    expect(plan.steps.every((s) => s.op === 'apply' && s.object.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] !== undefined)).to.equal(
      true,
    );
  });

  it('writes nothing when every live object carries the desired hash (no-op resync)', () => {
    const plan = planChanges([svc('acid-a'), sts('spilo:1')], [live(svc('acid-a')), live(sts('spilo:1'))], { compareStatefulSet: same });
    expect(plan.steps).to.deep.equal([]);
    expect(plan.unchanged).to.equal(2);
  });

  it('re-applies an object whose desired content changed', () => {
    const plan = planChanges([svc('acid-a', 6432)], [live(svc('acid-a', 5432))], { compareStatefulSet: never });
    expect(plan.steps).to.have.length(1);
    expect(plan.steps[0]).to.include({ op: 'apply', reason: 'changed' });
  });

  it('adopts an existing object we never applied (a Secret made by a user)', () => {
    const plan = planChanges([svc('acid-a')], [{ ...svc('acid-a'), metadata: { name: 'acid-a', namespace: 'ns' } }], {
      compareStatefulSet: never,
    });
    expect(plan.steps[0]).to.include({ op: 'apply', reason: 'adopting an existing object' });
  });

  it('prunes objects we applied that are no longer desired, and never objects we did not apply', () => {
    const patroniConfigService = { ...svc('acid-a-config'), metadata: { name: 'acid-a-config', namespace: 'ns' } };
    const plan = planChanges([svc('acid-a')], [live(svc('acid-a')), live(svc('acid-a-pooler')), patroniConfigService], {
      compareStatefulSet: never,
    });
    expect(plan.steps).to.have.length(1);
    expect(plan.steps[0]).to.deep.include({
      op: 'delete',
      ref: { apiVersion: 'v1', kind: 'Service', namespace: 'ns', name: 'acid-a-pooler' },
    });
  });

  it('never prunes a Secret unless allowed: a role leaving the manifest keeps its password', () => {
    const secret = (name: string): KubernetesObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ns' } });
    expect(planChanges([], [live(secret('gone-user'))], { compareStatefulSet: never }).steps).to.deep.equal([]);
    const allowed = planChanges([], [live(secret('pooler'))], { compareStatefulSet: never }, (o) => o.metadata?.name === 'pooler');
    expect(allowed.steps.map((s) => s.op)).to.deep.equal(['delete']);
  });

  it('follows compareStatefulSet: roll re-applies and reports the reasons, replace becomes a replace step', () => {
    const roll: CompareStatefulSet = () => ({ action: 'roll', reasons: ['image changed'] });
    const p1 = planChanges([sts('spilo:2')], [live(sts('spilo:1'))], { compareStatefulSet: roll });
    expect(p1.steps[0]).to.include({ op: 'apply' });
    expect(p1.rollReasons).to.deep.equal(['image changed']);
    const replace: CompareStatefulSet = () => ({ action: 'replace', reasons: ['volumeClaimTemplates changed'] });
    const p2 = planChanges([sts('spilo:2')], [live(sts('spilo:1'))], { compareStatefulSet: replace });
    expect(p2.steps[0]).to.include({ op: 'replace', reason: 'volumeClaimTemplates changed' });
  });
});

describe('planChanges with drift repair (compareLive)', () => {
  const judge = { compareStatefulSet: (() => ({ action: 'none', reasons: [] })) as CompareStatefulSet, compareLive };

  it('re-applies an object whose hash matches but whose content someone changed, naming the field', () => {
    const edited = live(svc('acid-a'));
    (edited as { spec: { ports: { port: number }[] } }).spec.ports = [{ port: 5433 }];
    const plan = planChanges([svc('acid-a')], [edited], judge);
    expect(plan.unchanged).to.equal(0);
    const step = plan.steps[0];
    expect(step?.op).to.equal('apply');
    if (step?.op !== 'apply') return;
    expect(step.drift?.join('\n')).to.match(/spec\.ports\[5432\/TCP\]: missing/);
    expect(step.replaceLists).to.deep.equal({ spec: { ports: [{ port: 5432 }] } });
  });

  it('repairs a StatefulSet whose pod template someone edited though compareStatefulSet sees nothing', () => {
    const edited = live(sts('spilo:1'));
    const container = edited.spec?.template.spec?.containers[0];
    if (container !== undefined) container.image = 'spilo:evil';
    const plan = planChanges([sts('spilo:1')], [edited], judge);
    expect(plan.steps).to.have.length(1);
    expect(plan.steps[0]).to.include({ op: 'apply' });
    expect(plan.steps[0]?.reason).to.match(/^drifted: spec\.template\.spec\.containers\[postgres\]\.image: "spilo:evil", want "spilo:1"/);
  });

  it('writes nothing when the live objects hold what we applied plus what the API server added', () => {
    const stored = live(svc('acid-a'));
    (stored as { spec: Record<string, unknown> }).spec = {
      ports: [{ port: 5432, protocol: 'TCP', targetPort: 5432 }],
      clusterIP: '10.0.0.1',
    };
    const plan = planChanges([svc('acid-a'), sts('spilo:1')], [stored, live(sts('spilo:1'))], judge);
    expect(plan.steps).to.deep.equal([]);
    expect(plan.unchanged).to.equal(2);
  });
});
