import { expect } from 'chai';
import type { ClusterMember } from '@pgfn/patroni';
import { diffPatroniConfig } from '../../functions/rolling-update/src/patroni-config-diff.js';
import { planRestart } from '../../functions/rolling-update/src/restart-plan.js';

const EFFECTIVE = {
  ttl: 30,
  loop_wait: 10,
  retry_timeout: 10,
  maximum_lag_on_failover: 33554432,
  failsafe_mode: false,
  postgresql: { parameters: { max_connections: 100, work_mem: '4MB' }, use_pg_rewind: true },
};

describe('diffPatroniConfig', () => {
  const STANDBY_DCS = {
    ...EFFECTIVE,
    standby_cluster: { host: 'acid-src.default', port: 5432, create_replica_methods: ['basebackup_fast_xlog'] },
  };
  const SAME = { patroni: {}, parameters: {}, failsafeDefault: false };

  it('promotes a standby cluster whose manifest lost spec.standby: standby_cluster null, as upstream does', () => {
    const diff = diffPatroniConfig(STANDBY_DCS, { ...SAME, standby: undefined });
    expect(diff.patch).to.deep.equal({ standby_cluster: null });
    expect(diff.promotes).to.equal(true);
    expect(diff.changes).to.deep.equal(['standby_cluster removed (promote to primary)']);
  });

  it('leaves a standby cluster alone while the manifest still names the same source', () => {
    const diff = diffPatroniConfig(STANDBY_DCS, { ...SAME, standby: { standby_host: 'acid-src.default', standby_port: '5432' } });
    expect(diff.patch).to.equal(undefined);
    expect(diff.promotes).to.equal(false);
  });

  it('patches a changed standby source into standby_cluster, clearing fields the manifest dropped', () => {
    const diff = diffPatroniConfig(STANDBY_DCS, {
      ...SAME,
      standby: { standby_host: 'acid-other.default', standby_primary_slot_name: 'stby' },
    });
    expect(diff.patch).to.deep.equal({ standby_cluster: { host: 'acid-other.default', port: null, primary_slot_name: 'stby' } });
    expect(diff.promotes).to.equal(false);
    expect(diff.changes[0]).to.include('standby_cluster.host acid-src.default → acid-other.default');
  });

  it('never turns a running primary into a standby (spec.standby added later), and never patches standby_cluster of a primary', () => {
    expect(diffPatroniConfig(EFFECTIVE, { ...SAME, standby: { standby_host: 'acid-src.default' } }).patch).to.equal(undefined);
    expect(diffPatroniConfig({ ...EFFECTIVE, standby_cluster: null }, { ...SAME, standby: undefined }).patch).to.equal(undefined);
  });

  it('finds nothing to change when the DCS holds the manifest values (numbers compared as text)', () => {
    const diff = diffPatroniConfig(EFFECTIVE, {
      patroni: { ttl: 30 },
      parameters: { max_connections: '100', work_mem: '4MB' },
      failsafeDefault: false,
    });
    expect(diff).to.deep.equal({ patch: undefined, restartPrimaryFirst: false, changes: [], promotes: false });
  });

  it('puts every change in one patch: DCS settings at the top, parameters under postgresql', () => {
    const diff = diffPatroniConfig(EFFECTIVE, {
      patroni: { ttl: 20, loop_wait: 5, synchronous_mode: true, slots: { s1: { type: 'physical' } } },
      parameters: { max_connections: '150', work_mem: '8MB', shared_buffers: '1GB' },
      failsafeDefault: false,
    });
    expect(diff.patch).to.deep.equal({
      ttl: 20,
      loop_wait: 5,
      synchronous_mode: true,
      slots: { s1: { type: 'physical' } },
      postgresql: { parameters: { max_connections: '150', work_mem: '8MB' } },
    });
    expect(diff.changes).to.include('max_connections 100 → 150');
    expect(diff.restartPrimaryFirst).to.equal(false);
  });

  it('restarts the primary first only when every change is a decrease of a restart-bound parameter', () => {
    const decrease = (parameters: Record<string, string>, patroni = {}): boolean =>
      diffPatroniConfig(EFFECTIVE, { patroni, parameters, failsafeDefault: false }).restartPrimaryFirst;
    expect(decrease({ max_connections: '50' })).to.equal(true);
    expect(decrease({ max_connections: '150' })).to.equal(false);
    expect(decrease({ max_connections: '50', work_mem: '8MB' })).to.equal(false);
    expect(decrease({ max_connections: '50' }, { ttl: 20 })).to.equal(false);
  });

  it('writes pg_hba where Patroni reads it, and failsafe_mode from the configuration when the manifest is silent', () => {
    const diff = diffPatroniConfig(EFFECTIVE, { patroni: { pg_hba: ['local all all trust'] }, parameters: {}, failsafeDefault: true });
    expect(diff.patch).to.deep.equal({ failsafe_mode: true, postgresql: { pg_hba: ['local all all trust'] } });
  });
});

describe('planRestart', () => {
  const m = (name: string, role: string, pending: boolean, state = 'running'): ClusterMember => ({
    name,
    role,
    state,
    pending_restart: pending,
  });
  const members = [m('c-0', 'leader', true), m('c-1', 'replica', true), m('c-2', 'sync_standby', true)];

  it('restarts replicas first, then the primary', () => {
    expect(planRestart({ members, primaryFirst: false })).to.deep.include({ action: 'restart', member: 'c-1', role: 'replica' });
    const leaderLeft = [m('c-0', 'leader', true), m('c-1', 'replica', false), m('c-2', 'sync_standby', false)];
    expect(planRestart({ members: leaderLeft, primaryFirst: false })).to.deep.include({
      action: 'restart',
      member: 'c-0',
      role: 'primary',
    });
  });

  it('restarts the primary first when the change asked for it', () => {
    expect(planRestart({ members, primaryFirst: true })).to.deep.include({ action: 'restart', member: 'c-0' });
  });

  it('waits while a member is not running, and stops when nothing is pending', () => {
    expect(
      planRestart({ members: [...members.slice(0, 2), m('c-2', 'replica', false, 'restarting')], primaryFirst: false }).action,
    ).to.equal('wait');
    expect(planRestart({ members: members.map((x) => ({ ...x, pending_restart: false })), primaryFirst: false }).action).to.equal('none');
  });
});
