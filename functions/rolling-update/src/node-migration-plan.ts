// Moving a cluster off nodes that go away (issue 24, ADR 0076), one step per invocation like a
// rotation: first the master, by a switchover to a healthy replica on a node that stays (upstream's
// MigrateMasterPod); then each replica on a leaving node is recreated elsewhere, one at a time, only
// while every other member is healthy. Pure: the caller reads pods, nodes and Patroni's members.
import type { ClusterMember } from '@pgfn/patroni';
import { switchoverCandidate } from './switchover-candidate.js';

export interface PodPlacement {
  readonly name: string;
  readonly role: 'master' | 'replica' | undefined;
  readonly nodeName: string | undefined;
  readonly ready: boolean;
  readonly deleting: boolean;
  /** The node the pod's volume was provisioned on (its claim's selected-node), for a pod not scheduled yet. */
  readonly volumeNode?: string | undefined;
}

export interface MigrationInput {
  readonly pods: readonly PodPlacement[];
  /** Leaving nodes → why. */
  readonly leaving: ReadonlyMap<string, string>;
  readonly members: readonly ClusterMember[] | undefined;
  readonly synchronousMode: boolean;
  /** Members the master reports streaming; undefined when unknown (or not read: no switchover is due). */
  readonly streaming?: ReadonlySet<string> | undefined;
}

export type MigrationStep =
  | { readonly action: 'none'; readonly reason: string }
  | { readonly action: 'wait'; readonly reason: string }
  | { readonly action: 'blocked'; readonly reason: string }
  | { readonly action: 'switchover'; readonly from: string; readonly to: string; readonly reason: string }
  | { readonly action: 'recreate'; readonly pod: string; readonly node: string; readonly reason: string };

export function planNodeMigration(input: MigrationInput): MigrationStep {
  // A pod on a leaving node, or one waiting to be scheduled whose volume lives on one (evicted by a drain).
  const where = (p: PodPlacement): string => p.nodeName ?? p.volumeNode ?? '';
  const all = input.pods.filter((p) => input.leaving.has(where(p)));
  if (all.length === 0) return { action: 'none', reason: 'no pod runs on a node that is going away' };
  const on = all.filter((p) => !p.deleting);
  if (on.length === 0) return { action: 'wait', reason: `${all.map((p) => p.name).join(', ')} leaving: waiting until they are gone` };
  const why = (p: PodPlacement): string => input.leaving.get(where(p)) ?? '';
  const master = on.find((p) => p.role === 'master');
  if (master !== undefined) {
    if (input.members === undefined) return { action: 'wait', reason: `${why(master)}; Patroni's members are unknown` };
    // Candidates: ready replicas on nodes that stay.
    const away = new Set(input.pods.filter((p) => !p.ready || p.deleting || input.leaving.has(where(p))).map((p) => p.name));
    const known = new Set(input.pods.map((p) => p.name));
    for (const m of input.members) if (!known.has(m.name)) away.add(m.name);
    const candidate = switchoverCandidate({
      members: input.members,
      synchronousMode: input.synchronousMode,
      excluded: away,
      streaming: input.streaming,
    });
    if (candidate.name === undefined)
      return {
        action: 'blocked',
        reason: `${why(master)}, but master ${master.name} has no replica on another ready node: ${candidate.reason}`,
      };
    return { action: 'switchover', from: master.name, to: candidate.name, reason: `${why(master)}; ${candidate.reason}` };
  }
  const others = input.pods.filter((p) => !on.includes(p));
  if (others.some((p) => !p.ready || p.deleting))
    return { action: 'wait', reason: `replica(s) ${on.map((p) => p.name).join(', ')} wait until every other pod is ready` };
  const replica = on[0] as PodPlacement;
  return { action: 'recreate', pod: replica.name, node: where(replica), reason: why(replica) };
}
