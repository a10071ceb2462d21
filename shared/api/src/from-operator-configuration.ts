// Loads the operator configuration from an OperatorConfiguration CR: nested snake_case groups
// under `configuration:` become the flat OperatorConfig. Absent keys take the same defaults as
// the ConfigMap form (config.go); where upstream's CRD path coalesces an empty value ('', 0, [],
// {}) to a default (pkg/controller/operator_config.go), so does this.
import { CONFIG_KEYS, type ConfigKey, type CrdGroup } from './config-keys.js';
import {
  applyValue,
  defaultConfig,
  finishConfig,
  valueError,
  type ConfigError,
  type ConfigLoadOptions,
  type ConfigLoadResult,
  type Loading,
} from './config-load.js';
import { isEmptyValue, readCrdValue } from './config-values.js';
import type { OperatorConfiguration } from './operator-configuration.js';

const ROOT = 'configuration';

/** Rows per CR group, and the set of group names. */
const ROWS_BY_GROUP: ReadonlyMap<CrdGroup, ReadonlyMap<string, ConfigKey>> = groupRows();

export function fromOperatorConfiguration(
  obj: Pick<OperatorConfiguration, 'configuration'>,
  options: ConfigLoadOptions = {},
): ConfigLoadResult {
  const config = defaultConfig();
  const errors: ConfigError[] = [];
  const root: unknown = obj.configuration;
  if (root === undefined || root === null) {
    errors.push({ key: ROOT, message: `${ROOT}: missing; every setting takes its default.` });
  } else if (!isObject(root)) {
    errors.push({ key: ROOT, message: `${ROOT}: is not an object; every setting takes its default.` });
  } else {
    readGroup({ config, errors }, '', root);
  }
  errors.push(...finishConfig(config, options, pathOf));
  return { config, errors };
}

function readGroup(into: Loading, group: CrdGroup, data: Record<string, unknown>): void {
  const rows = ROWS_BY_GROUP.get(group) ?? new Map<string, ConfigKey>();
  for (const [key, raw] of Object.entries(data)) {
    const path = group ? `${ROOT}.${group}.${key}` : `${ROOT}.${key}`;
    if (raw === null || raw === undefined) continue;
    const entry = rows.get(key);
    if (entry) {
      readEntry(into, entry, raw, path);
    } else if (group === '' && ROWS_BY_GROUP.has(key as CrdGroup) && key !== '') {
      readSubGroup(into, key as CrdGroup, raw, path);
    } else {
      into.errors.push({ key: path, message: `${path}: unknown operator configuration key; it was ignored.` });
    }
  }
}

function readSubGroup(into: Loading, group: CrdGroup, raw: unknown, path: string): void {
  if (!isObject(raw)) {
    into.errors.push({ key: path, message: `${path}: is not an object; its settings take their defaults.` });
    return;
  }
  readGroup(into, group, raw);
}

function readEntry(into: Loading, entry: ConfigKey, raw: unknown, path: string): void {
  try {
    const value = readCrdValue(entry.kind, raw);
    if (entry.coalesce && isEmptyValue(value)) return;
    applyValue(into, entry, { value, path, raw });
  } catch (err) {
    into.errors.push(valueError(entry, path, raw, err));
  }
}

function pathOf(key: string): string {
  const entry = CONFIG_KEYS.find((row) => row.key === key);
  return entry?.group ? `${ROOT}.${entry.group}.${key}` : `${ROOT}.${key}`;
}

function groupRows(): Map<CrdGroup, Map<string, ConfigKey>> {
  const groups = new Map<CrdGroup, Map<string, ConfigKey>>();
  for (const row of CONFIG_KEYS) {
    if (row.group === undefined) continue;
    const rows = groups.get(row.group) ?? new Map<string, ConfigKey>();
    rows.set(row.key, row);
    groups.set(row.group, rows);
  }
  return groups;
}

function isObject(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw);
}
