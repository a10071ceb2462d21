import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import {
  decideMajorUpgrade,
  nextWindowStart,
  UPGRADE_FAILURE_ANNOTATION,
  type UpgradeInputs,
  type UpgradeMember,
} from '../../functions/rolling-update/src/major-upgrade-plan.js';
import { parseMaintenanceWindow } from '@pgfn/api';

// Saturday 2026-12-05 10:00 UTC.
const NOW = new Date('2026-12-05T10:00:00Z');
const manifest = (version: string, more: Partial<Postgresql['spec']> = {}, annotations: Record<string, string> = {}): Postgresql => ({
  apiVersion: 'acid.zalan.do/v1',
  kind: 'postgresql',
  metadata: { name: 'acid-up', namespace: 'default', annotations },
  spec: { teamId: 'acid', numberOfInstances: 2, postgresql: { version }, volume: { size: '1Gi' }, ...more },
});
const healthy: UpgradeMember[] = [
  { name: 'acid-up-0', role: 'leader', state: 'running' },
  { name: 'acid-up-1', role: 'replica', state: 'running', lag: 0 },
];
const inputs = (more: Partial<UpgradeInputs> = {}): UpgradeInputs => ({
  cluster: manifest('16'),
  config: { ...DEFAULT_OPERATOR_CONFIG, majorVersionUpgradeMode: 'manual' },
  runningVersionNum: 140023,
  members: healthy,
  podCount: 2,
  now: NOW,
  ...more,
});

describe('decideMajorUpgrade (upstream majorVersionUpgrade rules)', () => {
  it('upgrades a healthy cluster whose manifest names a newer major, on its primary', () => {
    expect(decideMajorUpgrade(inputs())).to.deep.equal({ action: 'upgrade', from: 14, to: 16, primary: 'acid-up-0' });
  });

  it('does nothing with mode off, unless the team is on the allow list', () => {
    const off = { ...DEFAULT_OPERATOR_CONFIG, majorVersionUpgradeMode: 'off' };
    expect(decideMajorUpgrade(inputs({ config: off }))).to.include({ action: 'none', reason: 'major_version_upgrade_mode is off' });
    expect(decideMajorUpgrade(inputs({ config: { ...off, majorVersionUpgradeTeamAllowList: ['acid'] } }))).to.include({
      action: 'upgrade',
    });
  });

  it('lifts a cluster below minimal_major_version to target_major_version in mode full', () => {
    const full = { ...DEFAULT_OPERATOR_CONFIG, majorVersionUpgradeMode: 'full', minimalMajorVersion: '16', targetMajorVersion: '17' };
    expect(decideMajorUpgrade(inputs({ cluster: manifest('14'), config: full }))).to.deep.equal({
      action: 'upgrade',
      from: 14,
      to: 17,
      primary: 'acid-up-0',
    });
    // manual mode keeps the manifest's 14: nothing to do.
    expect(decideMajorUpgrade(inputs({ cluster: manifest('14') }))).to.include({ action: 'none' });
  });

  it('refuses a downgrade with a message, touching nothing', () => {
    const d = decideMajorUpgrade(inputs({ cluster: manifest('14'), runningVersionNum: 160013 }));
    expect(d).to.deep.equal({
      action: 'refuse',
      reason: 'the cluster runs PostgreSQL 16; a downgrade to 14 is not supported (restore a backup into a new cluster instead)',
    });
  });

  it('clears a failure annotation once the cluster runs the desired major', () => {
    const c = manifest('16', {}, { [UPGRADE_FAILURE_ANNOTATION]: '2026-12-01T00:00:00Z' });
    expect(decideMajorUpgrade(inputs({ cluster: c, runningVersionNum: 160013 }))).to.deep.equal({
      action: 'none',
      reason: 'PostgreSQL 16 is the desired major',
      clearFailure: true,
    });
  });

  it('does not retry after a recorded failure until the annotation is removed', () => {
    const c = manifest('16', {}, { [UPGRADE_FAILURE_ANNOTATION]: '2026-12-01T00:00:00Z' });
    expect(decideMajorUpgrade(inputs({ cluster: c }))).to.deep.equal({
      action: 'none',
      reason: 'the last major upgrade failed (2026-12-01T00:00:00Z); remove the last-major-upgrade-failure annotation to retry',
    });
  });

  it('refuses a standby cluster', () => {
    const members = [{ name: 'acid-up-0', role: 'standby_leader', state: 'running' }];
    expect(decideMajorUpgrade(inputs({ members, podCount: 1 }))).to.include({ action: 'refuse' });
  });

  it('defers outside every maintenance window and says when the next one starts', () => {
    const c = manifest('16', { maintenanceWindows: ['Sun:01:00-03:00', '22:00-23:00'] });
    expect(decideMajorUpgrade(inputs({ cluster: c }))).to.deep.equal({
      action: 'defer',
      reason: 'upgrade to PostgreSQL 16 waits for the maintenance window starting 2026-12-05T22:00:00.000Z',
      nextWindow: new Date('2026-12-05T22:00:00Z'),
    });
    const inside = manifest('16', { maintenanceWindows: ['Sat:09:00-11:00'] });
    expect(decideMajorUpgrade(inputs({ cluster: inside }))).to.include({ action: 'upgrade' });
  });

  const failing: [string, Partial<UpgradeInputs>, string][] = [
    [
      'a replica that is stopped',
      { members: [healthy[0] as UpgradeMember, { name: 'acid-up-1', role: 'replica', state: 'stopped', lag: 'unknown' }] },
      'member acid-up-1 is stopped, not running',
    ],
    ['a pod that is no Patroni member', { members: [healthy[0] as UpgradeMember] }, '1 of 2 pods are Patroni members'],
    [
      'a replica more than 16 MiB behind',
      { members: [healthy[0] as UpgradeMember, { name: 'acid-up-1', role: 'replica', state: 'running', lag: 17 * 1024 * 1024 }] },
      'replica acid-up-1 lags 17825792 bytes (at most 16 MiB)',
    ],
  ];
  for (const [what, more, problem] of failing) {
    it(`fails the upgrade before touching anything with ${what}`, () => {
      expect(decideMajorUpgrade(inputs(more))).to.deep.equal({
        action: 'fail',
        reason: `upgrade to PostgreSQL 16 not started: ${problem}`,
      });
    });
  }
});

describe('nextWindowStart', () => {
  it('finds the next weekday window a week ahead at most', () => {
    const windows = ['Sat:09:00-09:30'].map((w) => parseMaintenanceWindow(w));
    expect(nextWindowStart(windows, NOW).toISOString()).to.equal('2026-12-12T09:00:00.000Z');
  });
});
