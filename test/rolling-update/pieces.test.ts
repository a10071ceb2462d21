import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG } from '@pgfn/api';
import { clustersOf } from '../../functions/rolling-update/src/targets.js';
import { podAwaitsRollingUpdate } from '@pgfn/builder';

describe('clustersOf', () => {
  const config = DEFAULT_OPERATOR_CONFIG;
  const pod = (labels: Record<string, string>) => ({
    specversion: '1.0' as const,
    id: '1',
    source: 's',
    type: 'dev.knative.apiserver.resource.update',
    kind: 'Pod',
    data: { kind: 'Pod', metadata: { name: 'acid-a-0', namespace: 'ns', labels } },
  });
  it('maps Spilo pod events to their cluster, marked as pod-triggered', () => {
    expect(clustersOf(pod({ application: 'spilo', 'cluster-name': 'acid-a' }), config)).to.deep.equal([
      { namespace: 'ns', name: 'acid-a', fromPod: true },
    ]);
    expect(clustersOf(pod({ application: 'db-connection-pooler', 'cluster-name': 'acid-a' }), config)).to.deep.equal([]);
  });
  it('reads the cluster from rollingupdate.required and answers all for the periodic check', () => {
    const required = {
      specversion: '1.0' as const,
      id: '1',
      source: 'pgfn/reconcile',
      type: 'dev.pgfn.rollingupdate.required',
      data: { namespace: 'ns', name: 'acid-a' },
    };
    expect(clustersOf(required, config)).to.deep.equal([{ namespace: 'ns', name: 'acid-a' }]);
    expect(clustersOf({ specversion: '1.0', id: '1', source: 'ping', type: 'dev.knative.sources.ping' }, config)).to.equal('all');
  });
  it('skips a status-only update of a cluster at rest it looked at in this generation; not a new generation, an add, a rollout', () => {
    const cluster = (type: string, generation: number, seen?: number, [rolling, config] = ['False', 'True']) => ({
      specversion: '1.0' as const,
      id: '1',
      source: 's',
      type: `dev.knative.apiserver.resource.${type}`,
      kind: 'postgresql',
      data: {
        kind: 'postgresql',
        metadata: { name: 'acid-a', namespace: 'ns', generation },
        status: {
          observedGeneration: generation,
          conditions: [
            { type: 'RollingUpdate', status: rolling, observedGeneration: generation },
            { type: 'PatroniConfigApplied', status: config, observedGeneration: generation },
            ...(seen === undefined ? [] : [{ type: 'VolumesResized', status: 'True', observedGeneration: seen }]),
          ],
        },
      },
    });
    const ref = [{ namespace: 'ns', name: 'acid-a' }];
    expect(clustersOf(cluster('update', 3, 3), config), 'looked at generation 3').to.deep.equal([]);
    expect(clustersOf(cluster('update', 4, 3), config), 'spec changed since').to.deep.equal(ref);
    expect(clustersOf(cluster('update', 3), config), 'never looked at').to.deep.equal(ref);
    expect(clustersOf(cluster('add', 3, 3), config), 'an add is always looked at').to.deep.equal(ref);
    expect(clustersOf(cluster('update', 3, 3, ['True', 'True']), config), 'a rollout in progress').to.deep.equal(ref);
    expect(clustersOf(cluster('update', 3, 3, ['False', 'False']), config), 'a patch Patroni has yet to apply').to.deep.equal(ref);
  });
  it('waits for reconcile to state a generation before looking (its status write is the next update event, ADR 0130)', () => {
    const update = (generation: number, status: Record<string, unknown> | undefined) => ({
      specversion: '1.0' as const,
      id: '1',
      source: 's',
      type: 'dev.knative.apiserver.resource.update',
      kind: 'postgresql',
      data: { kind: 'postgresql', metadata: { name: 'acid-a', namespace: 'ns', generation }, ...(status === undefined ? {} : { status }) },
    });
    const ref = [{ namespace: 'ns', name: 'acid-a' }];
    expect(clustersOf(update(1, undefined), config), 'the echo of the finalizer write on a new cluster').to.deep.equal([]);
    expect(clustersOf(update(4, { observedGeneration: 3 }), config), 'an edit reconcile has not applied yet').to.deep.equal([]);
    const rollout = { conditions: [{ type: 'RollingUpdate', status: 'True', observedGeneration: 3 }] };
    expect(clustersOf(update(4, { observedGeneration: 3, ...rollout }), config), 'even during a rollout').to.deep.equal([]);
    expect(clustersOf(update(4, { observedGeneration: 4 }), config), "reconcile's write of the edit").to.deep.equal(ref);
    const seeded = { observedGeneration: 1, conditions: [{ type: 'VolumesResized', status: 'True', observedGeneration: 1 }] };
    expect(clustersOf(update(1, seeded), config), 'a new cluster whose claims reconcile made from the manifest').to.deep.equal([]);
  });
});

describe('podAwaitsRollingUpdate', () => {
  it("sees a rotation mark or a pending restart in Patroni's member annotation", () => {
    expect(podAwaitsRollingUpdate({ metadata: { annotations: { 'zalando-postgres-operator-rolling-update-required': 'true' } } })).to.equal(
      true,
    );
    expect(podAwaitsRollingUpdate({ metadata: { annotations: { status: '{"state":"running","pending_restart":true}' } } })).to.equal(true);
    expect(podAwaitsRollingUpdate({ metadata: { annotations: { status: '{"state":"running"}' } } })).to.equal(false);
  });
});
