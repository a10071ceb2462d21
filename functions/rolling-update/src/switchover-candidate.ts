// Upstream's getSwitchoverCandidate (pkg/cluster/pod.go): a synchronous standby if there is one,
// else a running replica; the lowest lag wins. In synchronous_mode there must be a sync standby
// (Patroni refuses any other candidate). pgfn adds two filters upstream lacks: a member tagged
// nofailover (Patroni would refuse it) and a pod still waiting for its own rotation (a switchover to it
// would cost a second one) are not candidates. And when the master's own view of replication is known,
// an asynchronous candidate must be streaming from it: Patroni accepts any running replica within
// maximum_lag_on_failover of the leader's last published position, and a clean demote only sends the
// last WAL to connected standbys, so a switchover to one that is not streaming can lose the last commits.
import type { ClusterMember } from '@pgfn/patroni';
import { byCodeUnit } from '@pgfn/fn-runtime';

const CANDIDATE_STATES = new Set(['running', 'streaming', 'in archive recovery']);
const LEADER_ROLES = new Set(['leader', 'standby_leader', 'master', 'primary']);

export interface CandidateInput {
  readonly members: readonly ClusterMember[];
  readonly synchronousMode: boolean;
  /** Members that still wait for rotation. */
  readonly excluded: ReadonlySet<string>;
  /** Members the master reports streaming (its pg_stat_replication); undefined when unknown. */
  readonly streaming?: ReadonlySet<string> | undefined;
}

export type CandidateResult = { readonly name: string; readonly reason: string } | { readonly name: undefined; readonly reason: string };

function lagOf(member: ClusterMember): number {
  return typeof member.lag === 'number' ? member.lag : Number.POSITIVE_INFINITY;
}

function byLag(a: ClusterMember, b: ClusterMember): number {
  return lagOf(a) - lagOf(b) || byCodeUnit(a.name, b.name);
}

export function switchoverCandidate(input: CandidateInput): CandidateResult {
  const eligible = input.members.filter((m) => !LEADER_ROLES.has(m.role) && !input.excluded.has(m.name) && m.tags?.['nofailover'] !== true);
  const sync = eligible.filter((m) => m.role === 'sync_standby' || m.role === 'quorum_standby').sort(byLag);
  const running = eligible.filter((m) => CANDIDATE_STATES.has(m.state)).sort(byLag);
  const best = sync[0];
  if (best !== undefined) return { name: best.name, reason: `${best.name} is a synchronous standby (lag ${String(best.lag ?? 0)})` };
  if (input.synchronousMode) return { name: undefined, reason: 'synchronous_mode is on and no synchronous standby is available' };
  const streaming = input.streaming;
  if (streaming !== undefined) {
    const streamer = running.find((m) => streaming.has(m.name));
    if (streamer !== undefined)
      return {
        name: streamer.name,
        reason: `${streamer.name} is the streaming replica with the lowest lag (${String(streamer.lag ?? 0)})`,
      };
    if (running.length > 0) {
      const states = running.map((m) => `${m.name} ${m.state}`).join(', ');
      return {
        name: undefined,
        reason: `no replica is streaming from the master yet (${states}): a switchover now could lose the last commits`,
      };
    }
  }
  const replica = running[0];
  if (replica !== undefined)
    return { name: replica.name, reason: `${replica.name} is the running replica with the lowest lag (${String(replica.lag ?? 0)})` };
  return { name: undefined, reason: 'no running replica can take over' };
}
