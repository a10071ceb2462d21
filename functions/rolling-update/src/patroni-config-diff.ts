// Upstream's checkAndSetGlobalPostgreSQLConfiguration (pkg/cluster/sync.go): the DCS-level Patroni
// settings and the Postgres parameters Patroni keeps in the DCS, compared with GET /config and turned
// into one PATCH /config. Values are compared as text, as upstream does. Two deliberate differences
// (ADR 0025): pg_hba is compared with and written to `postgresql.pg_hba`, where Patroni reads it
// (upstream compares a top-level key Patroni never has); slots are added and changed but never
// deleted, since a running cluster's slots may have come from elsewhere and pgfn keeps no memory of
// which ones the manifest once named.
// Upstream's syncStandbyClusterConfiguration joins in: a manifest without spec.standby while the DCS still
// holds standby_cluster promotes the cluster (`standby_cluster: null`); a changed standby_host, _port or
// _primary_slot_name is patched into standby_cluster. A running primary is never turned into a standby
// here (spec.standby added later): that needs a new cluster, as upstream's docs say.
import type { Patroni, StandbyDescription } from '@pgfn/api';
import { isBootstrapOnlyParameter } from '@pgfn/builder';
import type { DynamicConfig } from '@pgfn/patroni';

/** Parameters whose decrease needs the primary restarted before the replicas (upstream's list). */
export const RESTART_PRIMARY_WHEN_DECREASED: ReadonlySet<string> = new Set([
  'max_connections',
  'max_prepared_transactions',
  'max_locks_per_transaction',
  'max_worker_processes',
  'max_wal_senders',
]);

export interface DesiredPatroniConfig {
  readonly patroni: Patroni;
  /** spec.postgresql.parameters (plus wal_level=logical when streams are defined). */
  readonly parameters: Readonly<Record<string, string>>;
  /** The operator configuration's enable_patroni_failsafe_mode, used when the manifest sets none. */
  readonly failsafeDefault: boolean | undefined;
  /** spec.standby: undefined promotes a cluster whose DCS still holds standby_cluster. */
  readonly standby?: StandbyDescription | undefined;
}

export interface ConfigDiff {
  /** The body of one PATCH /config, or undefined when the DCS already holds the desired values. */
  readonly patch: Record<string, unknown> | undefined;
  /** Restart the primary before the replicas: every changed parameter is a decrease of one of upstream's list. */
  readonly restartPrimaryFirst: boolean;
  /** Human-readable changes, e.g. `max_connections 100 → 150`. */
  readonly changes: readonly string[];
  /** The patch removes standby_cluster: the standby leader becomes a primary. */
  readonly promotes: boolean;
}

type Json = Readonly<Record<string, unknown>>;

function asRecord(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortDeep(a)) === JSON.stringify(sortDeep(b));
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortDeep((value as Json)[k])]),
  );
}

/** Settings upstream sets only when the manifest gives a positive value. */
const POSITIVE_SETTINGS = ['ttl', 'loop_wait', 'retry_timeout', 'maximum_lag_on_failover'] as const;

function topLevelChanges(effective: DynamicConfig, desired: DesiredPatroniConfig): [string, unknown][] {
  const p = desired.patroni;
  const out: [string, unknown][] = [];
  for (const key of POSITIVE_SETTINGS) {
    const want = p[key];
    if (want !== undefined && want > 0 && Number(effective[key]) !== want) out.push([key, want]);
  }
  if ((p.synchronous_mode ?? false) !== (effective['synchronous_mode'] === true))
    out.push(['synchronous_mode', p.synchronous_mode ?? false]);
  if ((p.synchronous_mode_strict ?? false) !== (effective['synchronous_mode_strict'] === true))
    out.push(['synchronous_mode_strict', p.synchronous_mode_strict ?? false]);
  const nodeCount = p.synchronous_node_count;
  if (nodeCount !== undefined && nodeCount >= 1 && Number(effective['synchronous_node_count'] ?? 1) !== nodeCount)
    out.push(['synchronous_node_count', nodeCount]);
  const failsafe = p.failsafe_mode ?? desired.failsafeDefault;
  if (failsafe !== undefined && effective['failsafe_mode'] !== failsafe) out.push(['failsafe_mode', failsafe]);
  const slots: Record<string, unknown> = {};
  const effectiveSlots = asRecord(effective['slots']);
  for (const [name, slot] of Object.entries(p.slots ?? {})) {
    if (!sameJson(effectiveSlots[name], slot)) slots[name] = slot;
  }
  if (Object.keys(slots).length > 0) out.push(['slots', slots]);
  return out;
}

/** standby_cluster keys the manifest decides, by spec.standby field (upstream's mapping). */
const STANDBY_KEYS = [
  ['host', 'standby_host'],
  ['port', 'standby_port'],
  ['primary_slot_name', 'standby_primary_slot_name'],
] as const;

/** The standby_cluster change, if any: null to promote, else the changed keys (null for a removed one). */
function standbyChange(effective: DynamicConfig, standby: StandbyDescription | undefined): { value: unknown; change: string } | undefined {
  const current = effective['standby_cluster'];
  if (current === undefined || current === null) return undefined;
  if (standby === undefined || standby === null) return { value: null, change: 'standby_cluster removed (promote to primary)' };
  const have = asRecord(current);
  const patch: Record<string, unknown> = {};
  const changes: string[] = [];
  for (const [key, field] of STANDBY_KEYS) {
    const want = standby[field] ?? '';
    if (text(have[key]) === want) continue;
    patch[key] = want === '' ? null : want;
    changes.push(`standby_cluster.${key} ${text(have[key]) || '(unset)'} → ${want || '(unset)'}`);
  }
  return changes.length > 0 ? { value: patch, change: changes.join(', ') } : undefined;
}

export function diffPatroniConfig(effective: DynamicConfig, desired: DesiredPatroniConfig): ConfigDiff {
  const changes: string[] = [];
  const patch: Record<string, unknown> = {};
  for (const [key, value] of topLevelChanges(effective, desired)) {
    patch[key] = value;
    changes.push(`${key} ${text(effective[key]) || '(unset)'} → ${text(value)}`);
  }
  const standby = standbyChange(effective, desired.standby);
  if (standby !== undefined) {
    patch['standby_cluster'] = standby.value;
    changes.push(standby.change);
  }
  const effectivePostgresql = asRecord(effective['postgresql']);
  const effectiveParameters = asRecord(effectivePostgresql['parameters']);
  const parameters: Record<string, string> = {};
  const primaryFirstVotes: boolean[] = [];
  for (const name of Object.keys(desired.parameters).sort()) {
    const want = desired.parameters[name] as string;
    const have = text(effectiveParameters[name]);
    if (!isBootstrapOnlyParameter(name) || have === want) continue;
    parameters[name] = want;
    changes.push(`${name} ${have || '(unset)'} → ${want}`);
    const decreased = RESTART_PRIMARY_WHEN_DECREASED.has(name) && /^\d+$/.test(have) && /^\d+$/.test(want) && Number(have) > Number(want);
    primaryFirstVotes.push(decreased);
  }
  const postgresql: Record<string, unknown> = {};
  if (Object.keys(parameters).length > 0) postgresql['parameters'] = parameters;
  const hba = desired.patroni.pg_hba;
  if (hba !== undefined && hba.length > 0 && !sameJson(effectivePostgresql['pg_hba'], hba)) {
    postgresql['pg_hba'] = [...hba];
    changes.push('pg_hba changed');
  }
  // Upstream: primary first only when parameter decreases are the whole change.
  const restartPrimaryFirst = primaryFirstVotes.length > 0 && primaryFirstVotes.every((v) => v) && Object.keys(patch).length === 0;
  if (Object.keys(postgresql).length > 0) patch['postgresql'] = postgresql;
  const promotes = standby?.value === null;
  return { patch: Object.keys(patch).length > 0 ? patch : undefined, restartPrimaryFirst, changes, promotes };
}
