// Whether a cluster's major version upgrade runs now: upstream's rules (majorversionupgrade.go,
// majorVersionUpgrade) as one pure decision. Mode off runs nothing unless the team is on the allow
// list; mode full lifts a manifest below minimal_major_version to target_major_version; a downgrade,
// a standby cluster or a recorded failure runs nothing; outside every maintenance window the upgrade
// waits; every member must be running and every replica within 16 MiB of the primary.
import {
  isInMaintenanceWindow,
  parseMaintenanceWindow,
  type OperatorConfig,
  type ParsedMaintenanceWindow,
  type Postgresql,
} from '@pgfn/api';
import { desiredMajorVersion } from '@pgfn/builder';

export const UPGRADE_SUCCESS_ANNOTATION = 'last-major-upgrade-success';
export const UPGRADE_FAILURE_ANNOTATION = 'last-major-upgrade-failure';
/** Upstream's limit on replication lag before an upgrade. */
export const MAX_UPGRADE_LAG_BYTES = 16 * 1024 * 1024;

export type UpgradeConfig = Pick<
  OperatorConfig,
  'majorVersionUpgradeMode' | 'majorVersionUpgradeTeamAllowList' | 'minimalMajorVersion' | 'targetMajorVersion'
>;

/** One member as Patroni reports it (GET /cluster on any member, server_version from GET /patroni). */
export interface UpgradeMember {
  readonly name: string;
  readonly role: string;
  readonly state: string;
  readonly lag?: number | string;
}

export interface UpgradeInputs {
  readonly cluster: Postgresql;
  readonly config: UpgradeConfig;
  /** The primary's server_version_num (e.g. 140023); undefined when no primary answers. */
  readonly runningVersionNum: number | undefined;
  readonly members: readonly UpgradeMember[];
  /** Pods of the cluster (the upgrade covers every one). */
  readonly podCount: number;
  readonly now: Date;
}

export type UpgradeDecision =
  | { readonly action: 'none'; readonly reason: string; readonly clearFailure?: boolean }
  | { readonly action: 'refuse'; readonly reason: string }
  | { readonly action: 'defer'; readonly reason: string; readonly nextWindow: Date }
  | { readonly action: 'fail'; readonly reason: string }
  | { readonly action: 'upgrade'; readonly from: number; readonly to: number; readonly primary: string };

const LEADER_ROLES = new Set(['leader', 'master', 'primary']);

export function decideMajorUpgrade(inputs: UpgradeInputs): UpgradeDecision {
  const { cluster, config, runningVersionNum, members } = inputs;
  const team = cluster.spec.teamId ?? '';
  const allowed = config.majorVersionUpgradeTeamAllowList.includes(team);
  if (config.majorVersionUpgradeMode === 'off' && !allowed) return { action: 'none', reason: 'major_version_upgrade_mode is off' };
  const desired = Number(desiredMajorVersion(cluster, config));
  if (runningVersionNum === undefined) return { action: 'none', reason: 'no primary reports its version yet' };
  const running = Math.floor(runningVersionNum / 10000);
  const failed = cluster.metadata?.annotations?.[UPGRADE_FAILURE_ANNOTATION] !== undefined;
  if (running === desired) {
    return { action: 'none', reason: `PostgreSQL ${running} is the desired major`, ...(failed ? { clearFailure: true } : {}) };
  }
  if (running > desired) {
    return {
      action: 'refuse',
      reason:
        `the cluster runs PostgreSQL ${running}; a downgrade to ${desired} is not supported ` +
        '(restore a backup into a new cluster instead)',
    };
  }
  if (members.some((m) => m.role === 'standby_leader') || cluster.spec.standby !== undefined) {
    return {
      action: 'refuse',
      reason: `a standby cluster is not upgraded in place; re-create it at PostgreSQL ${desired} from its upgraded source`,
    };
  }
  if (failed) {
    const at = cluster.metadata?.annotations?.[UPGRADE_FAILURE_ANNOTATION] ?? '';
    return {
      action: 'none',
      reason: `the last major upgrade failed (${at}); remove the ${UPGRADE_FAILURE_ANNOTATION} annotation to retry`,
    };
  }
  const windows = (cluster.spec.maintenanceWindows ?? []).map((w) => parseMaintenanceWindow(w));
  if (windows.length > 0 && !windows.some((w) => isInMaintenanceWindow(w, inputs.now))) {
    const nextWindow = nextWindowStart(windows, inputs.now);
    return {
      action: 'defer',
      reason: `upgrade to PostgreSQL ${desired} waits for the maintenance window starting ${nextWindow.toISOString()}`,
      nextWindow,
    };
  }
  const problem = preconditionProblem(members, inputs.podCount);
  if (problem !== undefined) return { action: 'fail', reason: `upgrade to PostgreSQL ${desired} not started: ${problem}` };
  const primary = members.find((m) => LEADER_ROLES.has(m.role));
  return { action: 'upgrade', from: running, to: desired, primary: primary?.name ?? '' };
}

/** Upstream's and inplace_upgrade.py's checks: every pod a running member, replicas close behind. */
function preconditionProblem(members: readonly UpgradeMember[], podCount: number): string | undefined {
  const primaries = members.filter((m) => LEADER_ROLES.has(m.role));
  if (primaries.length !== 1) return `${primaries.length} members are primary`;
  if (members.length !== podCount) return `${members.length} of ${podCount} pods are Patroni members`;
  for (const m of members) {
    if (!['running', 'streaming'].includes(m.state)) return `member ${m.name} is ${m.state}, not running`;
    if (LEADER_ROLES.has(m.role)) continue;
    const lag = typeof m.lag === 'number' ? m.lag : Number.NaN;
    if (!(lag <= MAX_UPGRADE_LAG_BYTES)) return `replica ${m.name} lags ${String(m.lag ?? 'unknown')} bytes (at most 16 MiB)`;
  }
  return undefined;
}

/** The next start of any window after `now` (UTC), within the coming week. */
export function nextWindowStart(windows: readonly ParsedMaintenanceWindow[], now: Date): Date {
  let best: Date | undefined;
  for (let day = 0; day <= 7; day++) {
    for (const w of windows) {
      const [h, m] = w.start.split(':').map(Number) as [number, number];
      const at = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + day, h, m));
      if (at <= now || (!w.everyday && at.getUTCDay() !== w.weekday)) continue;
      if (best === undefined || at < best) best = at;
    }
  }
  return best ?? now;
}
