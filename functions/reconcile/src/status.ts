import type { V1StatefulSet } from '@kubernetes/client-node';
import type { Condition, PostgresStatus } from '@pgfn/api';
import { VOLUMES_RESIZED, VOLUMES_UP_TO_DATE, byCodeUnit, transitionTime } from '@pgfn/fn-runtime';

/** The status reconcile computes: @pgfn/api's PostgresStatus with the status string and conditions always set. */
export type ComputedStatus = PostgresStatus & { PostgresClusterStatus: string; conditions: Condition[] };

/** The cluster's Spilo pods as seen in one list: readiness and the roles Patroni labelled. */
export interface PodSummary {
  readonly total: number;
  readonly ready: number;
  readonly masters: number;
  readonly replicas: number;
  /** `<pod>: <error>` for each pod whose WAL archiving fails now (the node's annotation, ADR 0044). */
  readonly archiveFailures?: readonly string[];
}

/** What one reconcile saw and did; everything the status is computed from. */
export interface Observation {
  readonly generation: number | undefined;
  /** metadataHash() of the cluster as read. */
  readonly metadataHash?: string;
  readonly invalid: readonly string[];
  /** Validation warnings (built anyway, as upstream builds it): told in the Valid condition's message. */
  readonly warnings?: readonly string[];
  readonly syncError?: string;
  /** The live StatefulSet after applying (undefined when not created yet or invalid). */
  readonly statefulSet?: V1StatefulSet;
  /** The pods as listed (undefined when not looked at, e.g. invalid spec). */
  readonly pods?: PodSummary;
  /** No StatefulSet existed before this reconcile: failures are CreateFailed, progress is Creating. */
  readonly creating: boolean;
  /** The role/database sync, when it ran. */
  readonly roles?: { readonly state: 'synced' | 'waiting' | 'failed'; readonly message: string };
  /** The spec.streams sync, when it ran. */
  readonly streams?: { readonly state: 'synced' | 'waiting' | 'failed'; readonly message: string };
  /** Pods marked for rotation and not yet rotated. */
  readonly podsPendingRotation: number;
  /**
   * This reconcile created the StatefulSet and no older claim exists: every claim gets the manifest's size,
   * so the cluster starts with rolling-update's VolumesResized up to date (ADR 0131).
   */
  readonly volumesFromManifest?: boolean;
}

/**
 * Upstream's status string plus the conditions upstream lacks. Pure: `now` is only used for
 * conditions whose status changed since `previous`.
 */
export function computeStatus(obs: Observation, previous: PostgresStatus | undefined, now: Date): ComputedStatus {
  const g = obs.generation;
  const desired = obs.statefulSet?.spec?.replicas ?? 0;
  const pods = obs.pods ?? { total: 0, ready: 0, masters: 0, replicas: 0 };
  const ready = pods.ready;
  // Ready means: every desired pod is Ready, exactly one is labelled master by Patroni, the others replica.
  const podsReady =
    obs.statefulSet !== undefined &&
    pods.total === desired &&
    ready === desired &&
    (desired === 0 || (pods.masters === 1 && pods.replicas === desired - 1));
  const conds: (Omit<Condition, 'lastTransitionTime'> & { reason: string; message: string })[] = [];
  const add = (type: string, ok: boolean | undefined, reason: string, message: string): void => {
    const status = ok === undefined ? 'Unknown' : ok ? 'True' : 'False';
    conds.push({ type, status, observedGeneration: g, reason, message: clampMessage(message) });
  };
  add(
    'Valid',
    obs.invalid.length === 0,
    obs.invalid.length === 0 ? 'SpecValid' : 'SpecInvalid',
    obs.invalid.length > 0 ? obs.invalid.join('; ') : obs.warnings === undefined ? keptValidMessage(previous) : validMessage(obs.warnings),
  );
  if (obs.invalid.length === 0) {
    add(
      'Synced',
      obs.syncError === undefined,
      obs.syncError === undefined ? 'ObjectsApplied' : 'SyncFailed',
      obs.syncError ?? 'every desired object is applied',
    );
    // No live counts while waiting: each pod's progress would otherwise cost a status write.
    add(
      'PodsReady',
      obs.statefulSet === undefined ? undefined : podsReady,
      podsReady ? 'AllPodsReady' : 'PodsNotReady',
      podsReady
        ? `${ready}/${desired} pods ready, ${pods.masters} master, ${pods.replicas} replica(s)`
        : `waiting for ${desired} pod(s) to be Ready with exactly one labelled master${manyMasters(pods.masters)}`,
    );
    add(
      'RollingUpdate',
      obs.podsPendingRotation > 0,
      obs.podsPendingRotation > 0 ? 'PodsPendingRotation' : 'UpToDate',
      obs.podsPendingRotation > 0 ? `${obs.podsPendingRotation} pods wait for rotation` : 'every pod runs the desired template',
    );
  }
  // Stated once, on a new cluster; from then on the condition is rolling-update's and kept as it wrote it.
  if (obs.volumesFromManifest === true && !(previous?.conditions ?? []).some((c) => c.type === VOLUMES_RESIZED))
    add(VOLUMES_RESIZED, true, VOLUMES_UP_TO_DATE.reason, VOLUMES_UP_TO_DATE.message);
  if (obs.roles !== undefined) {
    const ok = obs.roles.state === 'synced' ? true : obs.roles.state === 'failed' ? false : undefined;
    const reason = obs.roles.state === 'synced' ? 'Synced' : obs.roles.state === 'failed' ? 'SyncFailed' : 'WaitingForMaster';
    // One sync covers both; two conditions so tools can watch either, as the catalogue names them.
    add('RolesSynced', ok, reason, obs.roles.message);
    add('DatabasesSynced', ok, reason, obs.roles.message);
  }
  if (obs.streams !== undefined) {
    const ok = obs.streams.state === 'synced' ? true : obs.streams.state === 'failed' ? false : undefined;
    const reason = obs.streams.state === 'synced' ? 'Synced' : obs.streams.state === 'failed' ? 'SyncFailed' : 'WaitingForMaster';
    add('StreamsSynced', ok, reason, obs.streams.message);
  }
  const archiveFailures = pods.archiveFailures ?? [];
  // Shown once archiving has failed: a cluster that never archived, or never failed, has no such condition.
  if (archiveFailures.length > 0) add('WALArchiving', false, 'WALArchiveFailing', archiveFailures.join('; '));
  else if (obs.pods !== undefined && previous?.conditions?.some((c) => c.type === 'WALArchiving'))
    add('WALArchiving', true, 'WALArchiveRecovered', 'WAL archiving succeeds');
  const isReady =
    obs.invalid.length === 0 && obs.syncError === undefined && podsReady && obs.podsPendingRotation === 0 && obs.roles?.state !== 'failed';
  add('Ready', isReady, isReady ? 'ClusterReady' : 'ClusterNotReady', isReady ? 'the cluster is running' : 'see the other conditions');
  const ours = new Set(conds.map((c) => c.type));
  return {
    PostgresClusterStatus: statusString(obs, podsReady),
    ...(g === undefined ? {} : { observedGeneration: g }),
    ...(obs.metadataHash === undefined ? {} : { observedMetadataHash: obs.metadataHash }),
    conditions: [
      ...conds.map((c) => ({
        ...keepRolloutDetail(c, previous?.conditions),
        lastTransitionTime: transitionTime(previous?.conditions, c, now),
      })),
      // Conditions other functions own (TeamRolesSynced, BackupVerified …) are kept as they are.
      ...(previous?.conditions ?? []).filter((c) => !ours.has(c.type)),
    ],
  };
}

/**
 * reconcile opens a rollout (pods wait for rotation); the rolling-update function says which pod is next
 * and why it waits, and closes it: it announces the completion (Event, CloudEvent) when it flips the
 * condition, which it could miss if reconcile flipped it first. So reconcile keeps rolling-update's
 * reason and message while pods wait, and a rollout in progress until rolling-update ends it.
 */
function keepRolloutDetail(
  c: Omit<Condition, 'lastTransitionTime'>,
  previous: readonly Condition[] | undefined,
): Omit<Condition, 'lastTransitionTime'> {
  const before = previous?.find((p) => p.type === c.type);
  if (c.type !== 'RollingUpdate' || before === undefined) return c;
  if (before.status === c.status || before.status === 'True')
    return { ...c, status: before.status, reason: before.reason, message: before.message };
  return c;
}

/**
 * The API server refuses a condition message over 32768 bytes (a manifest with a 10 kB role name made
 * every status write fail, so the delivery was retried for ever and the user never saw why). 8192
 * characters are at most 32768 bytes of UTF-8.
 */
export const MAX_CONDITION_MESSAGE = 8192;

/**
 * A validation problem as users read it: a manifest value longer than 100 characters (a 10 kB role
 * name) is shown by its start and length, so the sentence about it still fits in the condition.
 */
export function readableProblem(text: string): string {
  return text.replace(/[^\s"]{100,}/gu, (word) => `${word.slice(0, 40)}…(${word.length} characters)`);
}

function clampMessage(message: string): string {
  if (message.length <= MAX_CONDITION_MESSAGE) return message;
  const note = ` … (${message.length - MAX_CONDITION_MESSAGE} more characters)`;
  return message.slice(0, MAX_CONDITION_MESSAGE - note.length) + note;
}

/** A status refresh does not validate: the Valid message (and its warnings) stays as the last full reconcile wrote it. */
function keptValidMessage(previous: { conditions?: { type: string; status: string; message?: string }[] } | undefined): string {
  const valid = previous?.conditions?.find((c) => c.type === 'Valid' && c.status === 'True');
  return valid?.message ?? validMessage([]);
}

/** The Valid condition's message for a buildable manifest (SpecWarning Events repeat it when it changes). */
export function validMessage(warnings: readonly string[]): string {
  return warnings.length === 0 ? 'the manifest passed validation' : `the manifest passed validation, with warnings: ${warnings.join('; ')}`;
}

function manyMasters(masters: number): string {
  return masters > 1 ? ` (${masters} pods are labelled master)` : '';
}

function statusString(obs: Observation, podsReady: boolean): string {
  if (obs.invalid.length > 0) return 'Invalid';
  if (obs.syncError !== undefined) return obs.creating ? 'CreateFailed' : 'SyncFailed';
  if (podsReady && obs.podsPendingRotation === 0) return 'Running';
  return obs.creating ? 'Creating' : 'Updating';
}

/** True when writing `next` over `prev` would change anything (so a no-op reconcile writes nothing). */
export function statusChanged(prev: PostgresStatus | undefined, next: ComputedStatus): boolean {
  return JSON.stringify(normalise(prev)) !== JSON.stringify(normalise(next));
}

function normalise(s: PostgresStatus | undefined): unknown {
  return {
    s: s?.PostgresClusterStatus,
    g: s?.observedGeneration,
    m: s?.observedMetadataHash,
    c: [...(s?.conditions ?? [])]
      .sort((a, b) => byCodeUnit(a.type, b.type))
      .map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration, c.lastTransitionTime]),
  };
}
