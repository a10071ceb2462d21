import { expect } from 'chai';
import { CloudEvent } from 'cloudevents';
import { DEFAULT_OPERATOR_CONFIG, type Condition } from '@pgfn/api';
import { mergeCondition } from '@pgfn/fn-runtime';
import { targetOf } from '../../functions/team-role-sync/src/index.js';
import { pingEvent, resourceEvent } from './support.js';

const cluster = (generation: number, conditions: Condition[] = []): Record<string, unknown> => ({
  apiVersion: 'acid.zalan.do/v1',
  kind: 'postgresql',
  metadata: { name: 'acid-a', namespace: 'ns', generation },
  spec: { teamId: 'acid' },
  status: { PostgresClusterStatus: 'Running', conditions },
});
const synced = (generation: number, status: 'True' | 'False' = 'True'): Condition => ({
  type: 'TeamRolesSynced',
  status,
  reason: 'Synced',
  message: '',
  observedGeneration: generation,
  lastTransitionTime: '2026-01-01T00:00:00Z',
});

describe('team-role-sync: targetOf', () => {
  const cases: { name: string; event: CloudEvent<unknown>; want: Record<string, unknown> }[] = [
    { name: 'a ping syncs every cluster', event: pingEvent(), want: { scope: 'all' } },
    {
      name: 'a new cluster is synced',
      event: resourceEvent('add', cluster(1)),
      want: { scope: 'cluster', namespace: 'ns', name: 'acid-a' },
    },
    {
      name: 'an update whose spec was not synced yet is synced',
      event: resourceEvent('update', cluster(3, [synced(2)])),
      want: { scope: 'cluster', name: 'acid-a' },
    },
    {
      name: 'an update of status only (synced at this generation) is ignored',
      event: resourceEvent('update', cluster(3, [synced(3)])),
      want: { scope: 'ignore' },
    },
    {
      name: 'an update after a failed sync is synced again',
      event: resourceEvent('update', cluster(3, [synced(3, 'False')])),
      want: { scope: 'cluster' },
    },
    { name: 'a deleted cluster is ignored', event: resourceEvent('delete', cluster(3)), want: { scope: 'ignore' } },
    {
      name: 'a configuration change syncs every cluster',
      event: resourceEvent('update', { kind: 'OperatorConfiguration', metadata: { name: 'pgfn', namespace: 'pgfn-system' } }),
      want: { scope: 'all' },
    },
    {
      name: 'a PostgresTeam update syncs every cluster (its removed mappings are invisible)',
      event: resourceEvent('update', {
        kind: 'PostgresTeam',
        metadata: { name: 't', namespace: 'ns' },
        spec: { additionalTeams: { a: ['b'] } },
      } as never),
      want: { scope: 'all' },
    },
    {
      name: 'a readiness event syncs that cluster',
      event: new CloudEvent({ type: 'dev.pgfn.cluster.ready', source: 'pgfn/reconcile', subject: 'ns/acid-a', data: {} }),
      want: { scope: 'cluster', namespace: 'ns', name: 'acid-a' },
    },
    {
      name: "reconcile's cluster.updated (a changed spec applied) syncs that cluster",
      event: new CloudEvent({ type: 'dev.pgfn.cluster.updated', source: 'pgfn/reconcile', subject: 'ns/acid-a', data: {} }),
      want: { scope: 'cluster', namespace: 'ns', name: 'acid-a' },
    },
    {
      name: 'a cluster.updated without a <namespace>/<name> subject is ignored',
      event: new CloudEvent({ type: 'dev.pgfn.cluster.updated', source: 'pgfn/reconcile', subject: 'acid-a', data: {} }),
      want: { scope: 'ignore' },
    },
    {
      name: 'a Pod event is ignored',
      event: resourceEvent('update', { kind: 'Pod', metadata: { name: 'p', namespace: 'ns' } }),
      want: { scope: 'ignore' },
    },
    {
      name: 'an unknown type is ignored',
      event: new CloudEvent({ type: 'dev.example.other', source: 'x', data: {} }),
      want: { scope: 'ignore' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(targetOf(c.event)).to.deep.include(c.want);
    });
  }

  it('turns a PostgresTeam add or delete into the teams it names', () => {
    for (const verb of ['add', 'delete'] as const) {
      const t = targetOf(
        resourceEvent(verb, {
          kind: 'PostgresTeam',
          metadata: { name: 't', namespace: 'ns' },
          spec: { additionalTeams: { a: ['b'] }, additionalMembers: { c: ['tia'] } },
        } as never),
      );
      expect(t.scope).to.equal('teams');
      if (t.scope === 'teams') expect([...t.teams].sort()).to.deep.equal(['a', 'b', 'c']);
    }
  });
});

describe('team-role-sync: its condition through the kit (mergeCondition)', () => {
  const now = new Date('2026-05-01T10:00:00.123Z');
  const other: Condition = {
    type: 'Ready',
    status: 'True',
    reason: 'ClusterReady',
    message: 'fine',
    lastTransitionTime: '2026-01-01T00:00:00Z',
  };

  it('appends ours and keeps the others', () => {
    const next = mergeCondition(
      [other],
      { type: 'TeamRolesSynced', status: 'True', reason: 'Synced', message: 'm' },
      { now, generation: 4 },
    );
    expect(next).to.deep.equal([
      other,
      {
        type: 'TeamRolesSynced',
        status: 'True',
        reason: 'Synced',
        message: 'm',
        observedGeneration: 4,
        lastTransitionTime: '2026-05-01T10:00:00Z',
      },
    ]);
  });

  it('changes nothing when the condition already says it', () => {
    const ours = { ...synced(4), message: 'm' };
    expect(
      mergeCondition([other, ours], { type: 'TeamRolesSynced', status: 'True', reason: 'Synced', message: 'm' }, { now, generation: 4 }),
    ).to.equal(undefined);
  });

  it('keeps the transition time while the status stays, and moves it when the status changes', () => {
    const ours = { ...synced(4), message: 'old' };
    expect(
      mergeCondition(
        [ours, other],
        { type: 'TeamRolesSynced', status: 'True', reason: 'Synced', message: 'new' },
        { now, generation: 5 },
      )?.[0]?.lastTransitionTime,
    ).to.equal('2026-01-01T00:00:00Z');
    expect(
      mergeCondition(
        [ours, other],
        { type: 'TeamRolesSynced', status: 'False', reason: 'TeamsApiUnavailable', message: 'x' },
        { now, generation: 5 },
      )?.[0]?.lastTransitionTime,
    ).to.equal('2026-05-01T10:00:00Z');
    expect(
      mergeCondition(
        [ours, other],
        { type: 'TeamRolesSynced', status: 'False', reason: 'TeamsApiUnavailable', message: 'x' },
        { now, generation: 5 },
      )?.[1],
    ).to.equal(other);
  });

  it('uses the configuration defaults of upstream for the teams keys', () => {
    // Guards the assumptions the function makes about @pgfn/api's defaults (upstream config.go).
    expect(DEFAULT_OPERATOR_CONFIG).to.deep.include({
      pamRoleName: 'zalandos',
      teamAdminRole: 'admin',
      roleDeletionSuffix: '_deleted',
      enableTeamMemberDeprecation: false,
    });
  });
});
