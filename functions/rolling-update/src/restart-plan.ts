// Which member Patroni should restart next after a configuration change (upstream's restartInstances,
// one member per step instead of all in one loop): members reporting pending_restart, replicas first,
// the primary first only when the change asked for it (see patroni-config-diff.ts). A restart waits
// until every member runs, so two members are never down at once.
import type { ClusterMember } from '@pgfn/patroni';
import { byCodeUnit } from '@pgfn/fn-runtime';

const LEADER_ROLES = new Set(['leader', 'master', 'primary', 'standby_leader']);
const RUNNING_STATES = new Set(['running', 'streaming']);

export type RestartStep =
  | { readonly action: 'none'; readonly reason: string }
  | { readonly action: 'wait'; readonly reason: string; readonly pending: readonly string[] }
  | { readonly action: 'restart'; readonly member: string; readonly role: 'primary' | 'replica'; readonly pending: readonly string[] };

export interface RestartInput {
  readonly members: readonly ClusterMember[];
  readonly primaryFirst: boolean;
}

export function planRestart(input: RestartInput): RestartStep {
  const pending = input.members.filter((m) => m.pending_restart === true);
  const names = pending.map((m) => m.name).sort();
  if (pending.length === 0) return { action: 'none', reason: 'no member waits for a restart' };
  const down = input.members.find((m) => !RUNNING_STATES.has(m.state));
  if (down !== undefined)
    return { action: 'wait', reason: `waiting for ${down.name} (${down.state || 'no state'}) before restarting`, pending: names };
  const isLeader = (m: ClusterMember): boolean => LEADER_ROLES.has(m.role);
  const ordered = [...pending].sort(
    (a, b) => Number(isLeader(a) !== input.primaryFirst) - Number(isLeader(b) !== input.primaryFirst) || byCodeUnit(a.name, b.name),
  );
  const next = ordered[0] as ClusterMember;
  return { action: 'restart', member: next.name, role: isLeader(next) ? 'primary' : 'replica', pending: names };
}
