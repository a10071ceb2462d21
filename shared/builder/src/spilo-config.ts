// The SPILO_CONFIGURATION JSON, byte for byte as upstream's generateSpiloJSONConfiguration
// (pkg/cluster/k8sres.go) renders it with Go's encoding/json: struct fields in declaration order,
// map keys sorted, `omitempty` fields dropped, and <, >, & escaped.
import type { OperatorConfig, Patroni, PostgresqlParam } from '@pgfn/api';

export type SpiloConfigConfig = Pick<OperatorConfig, 'enablePgversionEnvVar' | 'enablePatroniFailsafeMode'>;

/** initdb options that take no value: `name: "true"` becomes the bare flag. */
const VALUELESS_INITDB_OPTIONS = new Set(['data-checksums', 'debug', 'no-locale', 'noclean', 'nosync', 'sync-only']);

/**
 * Parameters Spilo keeps in its local `postgresql.parameters`; every other parameter can only be
 * set through Patroni's dynamic configuration, so it goes to `bootstrap.dcs.postgresql.parameters`
 * (upstream isBootstrapOnlyParameter).
 */
export const LOCAL_POSTGRESQL_PARAMETERS: ReadonlySet<string> = new Set([
  'archive_command',
  'shared_buffers',
  'logging_collector',
  'log_destination',
  'log_directory',
  'log_filename',
  'log_file_mode',
  'log_rotation_age',
  'log_truncate_on_rotation',
  'ssl',
  'ssl_ca_file',
  'ssl_crl_file',
  'ssl_cert_file',
  'ssl_key_file',
  'shared_preload_libraries',
  'bg_mon.listen_address',
  'bg_mon.history_buckets',
  'pg_stat_statements.track_utility',
  'extwlist.extensions',
  'extwlist.custom_path',
]);

export function isBootstrapOnlyParameter(name: string): boolean {
  return !LOCAL_POSTGRESQL_PARAMETERS.has(name);
}

/** Splits manifest parameters into Spilo-local ones and those Patroni must set cluster-wide. */
export function splitPostgresqlParameters(parameters: Readonly<Record<string, string>>): {
  local: Record<string, string>;
  bootstrap: Record<string, string>;
} {
  const local: Record<string, string> = {};
  const bootstrap: Record<string, string> = {};
  for (const name of Object.keys(parameters).sort()) {
    const value = parameters[name] as string;
    if (isBootstrapOnlyParameter(name)) bootstrap[name] = value;
    else local[name] = value;
  }
  return { local, bootstrap };
}

type InitdbItem = string | Record<string, string>;

/** Upstream's defaults first, then the manifest's options sorted by name, without duplicates. */
export function initdbOptions(initdb: Readonly<Record<string, string>> | undefined): InitdbItem[] {
  const items: InitdbItem[] = [{ 'auth-host': 'scram-sha-256' }, { 'auth-local': 'trust' }];
  for (const name of Object.keys(initdb ?? {}).sort()) {
    const value = (initdb ?? {})[name] as string;
    const existing = items.find((item) => (typeof item === 'string' ? item === value : name in item));
    if (existing !== undefined) {
      // A manifest value replaces a default of the same name; a flag equal to the value is kept once.
      if (typeof existing !== 'string') existing[name] = value;
      continue;
    }
    items.push(value === 'true' && VALUELESS_INITDB_OPTIONS.has(name) ? name : { [name]: value });
  }
  return items;
}

/** The `bootstrap.dcs` section: only the Patroni settings the manifest (or config, for failsafe) sets. */
function dcsSection(patroni: Patroni, bootstrapParameters: Record<string, string>, config: SpiloConfigConfig): Record<string, unknown> {
  const dcs: Record<string, unknown> = {};
  if (patroni.ttl) dcs['ttl'] = patroni.ttl;
  if (patroni.loop_wait) dcs['loop_wait'] = patroni.loop_wait;
  if (patroni.retry_timeout) dcs['retry_timeout'] = patroni.retry_timeout;
  if (patroni.maximum_lag_on_failover !== undefined && patroni.maximum_lag_on_failover > 0) {
    dcs['maximum_lag_on_failover'] = asFloat32(patroni.maximum_lag_on_failover);
  }
  if (patroni.synchronous_mode) dcs['synchronous_mode'] = true;
  if (patroni.synchronous_mode_strict) dcs['synchronous_mode_strict'] = true;
  if (patroni.synchronous_node_count !== undefined && patroni.synchronous_node_count >= 1) {
    dcs['synchronous_node_count'] = patroni.synchronous_node_count;
  }
  if (Object.keys(bootstrapParameters).length > 0) dcs['postgresql'] = { parameters: bootstrapParameters };
  if (patroni.slots !== undefined && Object.keys(patroni.slots).length > 0) dcs['slots'] = sortedSlots(patroni.slots);
  // The manifest's failsafe_mode wins, else the configured value. Upstream's running config always
  // holds a value here (operator_config.go coalesces it to false), so the key is always written.
  dcs['failsafe_mode'] = patroni.failsafe_mode ?? config.enablePatroniFailsafeMode;
  return dcs;
}

/** Upstream keeps this value in a float32; Go prints the shortest decimal that reads back as that float32. */
function asFloat32(value: number): number {
  const single = Math.fround(value);
  for (let digits = 1; digits < 10; digits++) {
    const candidate = Number(single.toPrecision(digits));
    if (Math.fround(candidate) === single) return candidate;
  }
  return single;
}

function sortedSlots(slots: Readonly<Record<string, Record<string, string>>>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const name of Object.keys(slots).sort()) out[name] = sortedRecord(slots[name] ?? {});
  return out;
}

function sortedRecord(record: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(record).sort()) out[key] = record[key] as string;
  return out;
}

/** The object behind SPILO_CONFIGURATION (keys already in upstream's output order). */
export function spiloConfiguration(
  postgresql: PostgresqlParam,
  patroni: Patroni | undefined,
  config: SpiloConfigConfig,
): Record<string, unknown> {
  const p = patroni ?? {};
  const { local, bootstrap } = splitPostgresqlParameters(postgresql.parameters ?? {});
  const pgLocal: Record<string, unknown> = {};
  // PGVERSION is the preferred way to pick binaries; bin_dir would override it in Spilo.
  if (!config.enablePgversionEnvVar) pgLocal['bin_dir'] = `/usr/lib/postgresql/${postgresql.version}/bin`;
  if (Object.keys(local).length > 0) pgLocal['parameters'] = local;
  // pg_hba goes to the local section so Patroni rewrites pg_hba.conf when the manifest changes.
  if (p.pg_hba !== undefined && p.pg_hba.length > 0) pgLocal['pg_hba'] = [...p.pg_hba];
  return {
    postgresql: pgLocal,
    bootstrap: { initdb: initdbOptions(p.initdb), dcs: dcsSection(p, bootstrap, config) },
  };
}

/** SPILO_CONFIGURATION as the exact string upstream produces. */
export function spiloConfigurationJson(postgresql: PostgresqlParam, patroni: Patroni | undefined, config: SpiloConfigConfig): string {
  return goJson(spiloConfiguration(postgresql, patroni, config));
}

/** JSON.stringify plus the HTML-safe escaping Go's json.Marshal applies. */
export function goJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}
