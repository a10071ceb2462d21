// The inverse of fromOperatorConfiguration: an OperatorConfiguration CR holding every key of a
// flat config (durations as Go duration strings, names as "namespace/name"). ConfigMap-only keys
// (enable_load_balancer) and unset optional values are left out.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { InfrastructureRole, NamespacedName, OperatorConfig } from './config.js';
import { CONFIG_KEYS, type ValueKind } from './config-keys.js';
import { API_VERSION, OPERATOR_CONFIGURATION_KIND } from './constants.js';
import { formatGoDuration, formatNamespacedName } from './go-parse.js';
import type { InfrastructureRoleSpec, OperatorConfiguration } from './operator-configuration.js';

/** Upstream's example object name (manifests/postgresql-operator-default-configuration.yaml). */
export const DEFAULT_OPERATOR_CONFIGURATION_NAME = 'postgresql-operator-default-configuration';

export function toOperatorConfiguration(
  config: Readonly<OperatorConfig>,
  metadata: V1ObjectMeta = { name: DEFAULT_OPERATOR_CONFIGURATION_NAME },
): OperatorConfiguration {
  const data: Record<string, unknown> = {};
  for (const row of CONFIG_KEYS) {
    const value = config[row.prop];
    if (row.group === undefined || value === undefined) continue;
    const target = row.group === '' ? data : groupObject(data, row.group);
    target[row.key] = toJson(row.kind, value);
  }
  return {
    apiVersion: API_VERSION,
    kind: OPERATOR_CONFIGURATION_KIND,
    metadata,
    configuration: data,
  };
}

function groupObject(data: Record<string, unknown>, group: string): Record<string, unknown> {
  const existing = data[group];
  if (typeof existing === 'object' && existing !== null) return existing as Record<string, unknown>;
  const created: Record<string, unknown> = {};
  data[group] = created;
  return created;
}

function toJson(kind: ValueKind, value: unknown): unknown {
  switch (kind.type) {
    case 'duration':
      return formatGoDuration(value as number);
    case 'namespacedName':
      return formatNamespacedName(value as NamespacedName);
    case 'infrastructureRoles':
      return (value as InfrastructureRole[]).map(toRoleSpec);
    default:
      return structuredClone(value);
  }
}

function toRoleSpec(role: InfrastructureRole): InfrastructureRoleSpec {
  const spec: InfrastructureRoleSpec = { secretname: formatNamespacedName(role.secretName) };
  const texts: Array<[keyof InfrastructureRoleSpec, string]> = [
    ['userkey', role.userKey],
    ['passwordkey', role.passwordKey],
    ['rolekey', role.roleKey],
    ['defaultuservalue', role.defaultUserValue],
    ['defaultrolevalue', role.defaultRoleValue],
    ['details', role.details],
  ];
  for (const [name, text] of texts) if (text) (spec as Record<string, unknown>)[name] = text;
  if (role.template) spec.template = true;
  return spec;
}
