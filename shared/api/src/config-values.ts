// Turning one raw value (a ConfigMap string, or a JSON value of the CR) into the typed
// OperatorConfig value of its key. Failures throw an Error whose message completes
// "<key>: <value> …"; the loaders catch it and keep the default.
import type { V1Container } from '@kubernetes/client-node';
import type { InfrastructureRole, NamespacedName, OperatorConfig } from './config.js';
import type { ConfigKey, ValueKind } from './config-keys.js';
import { parseMaintenanceWindow } from './maintenance-window.js';
import { parseGoBool, parseGoDuration, parseGoInt, parseGoList, parseGoMap, parseNamespacedName, type IntFormat } from './go-parse.js';

export type ConfigValue = OperatorConfig[keyof OperatorConfig];

/** Parses a non-empty ConfigMap string the way upstream's decoder does. */
export function parseConfigMapValue(kind: ValueKind, raw: string): ConfigValue {
  switch (kind.type) {
    case 'string':
      return raw;
    case 'bool':
      return parseGoBool(raw);
    case 'int':
      return parseGoInt(raw, kind);
    case 'duration':
      return parseGoDuration(raw);
    case 'list':
      return parseGoList(raw);
    case 'map':
      return parseGoMap(raw);
    case 'namespacedName':
      return parseNamespacedName(raw);
    case 'infrastructureRoles':
      return [parseInfrastructureRoleText(raw)];
    case 'containers':
      return parseContainersJson(raw);
    case 'probe':
      throw new Error('can only be set in the OperatorConfiguration (kubernetes.liveness_probe)');
  }
}

/**
 * The value a present-but-empty ConfigMap key leaves behind: upstream skips empty values,
 * so the field keeps its Go zero value. Pointer fields stay unset; pgfn reads that as the default.
 */
export function emptyConfigMapValue(entry: ConfigKey, fallback: ConfigValue): ConfigValue {
  if (entry.ptr || fallback === undefined) return fallback;
  switch (entry.kind.type) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'int':
    case 'duration':
      return 0;
    case 'map':
      return {};
    case 'namespacedName':
      return { namespace: '', name: '' };
    case 'list':
    case 'infrastructureRoles':
    case 'containers':
      return [];
    case 'probe':
      return undefined;
  }
}

/** Reads a JSON value of the OperatorConfiguration CR (already known not to be null/undefined). */
export function readCrdValue(kind: ValueKind, raw: unknown): ConfigValue {
  switch (kind.type) {
    case 'string':
      return expectString(raw);
    case 'bool':
      if (typeof raw !== 'boolean') throw new Error('is not a boolean (use true or false)');
      return raw;
    case 'int':
      return expectInt(raw, kind);
    case 'duration':
      return parseGoDuration(expectString(raw, 'a duration string such as "30s" or "10m"'));
    case 'list':
      return expectStringList(raw);
    case 'map':
      return expectStringMap(raw);
    case 'namespacedName':
      return parseNamespacedName(expectString(raw, 'a name or namespace/name'));
    case 'infrastructureRoles':
      return expectArray(raw).map((item, i) => readInfrastructureRole(item, i));
    case 'containers':
      return expectObjectList(raw) as V1Container[];
    case 'probe':
      return expectObject(raw);
  }
}

/** Rules both forms share: enumerations (from the CRD schema) and minimums. */
export function checkValue(kind: ValueKind, value: ConfigValue): void {
  if (kind.type === 'string' && kind.enum && value !== '' && !kind.enum.includes(value as string)) {
    throw new Error(`is not one of ${kind.enum.join(', ')}`);
  }
  if (kind.type === 'int' && kind.min !== undefined && typeof value === 'number' && value < kind.min) {
    throw new Error(`is below the minimum of ${kind.min}`);
  }
  if (kind.type === 'list' && kind.items === 'maintenanceWindow') {
    for (const item of value as string[]) {
      try {
        parseMaintenanceWindow(item);
      } catch (err) {
        throw new Error(`has an item ${JSON.stringify(item)} that ${(err as Error).message}`, { cause: err });
      }
    }
  }
}

/** True for '', 0, [] and {}: the values upstream's CRD path replaces by the default. */
export function isEmptyValue(value: ConfigValue): boolean {
  if (value === '' || value === 0) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isPlainObject(value) && Object.keys(value).length === 0;
}

// The ConfigMap form of infrastructure roles: "secretname:ns/name,userkey:user,passwordkey:password,rolekey:inrole".
// Upstream (pkg/controller/util.go) resolves a bare secret name to the "default" namespace.
function parseInfrastructureRoleText(raw: string): InfrastructureRole {
  const role = emptyInfrastructureRole();
  for (const property of raw.split(',')) {
    const parts = property.split(':');
    if (parts.length < 2) continue;
    const name = (parts[0] ?? '').trim();
    const value = (parts[1] ?? '').trim();
    setRoleProperty(role, name, value);
  }
  requireRoleKeys(role);
  return role;
}

function setRoleProperty(role: InfrastructureRole, name: string, value: string): void {
  switch (name) {
    case 'secretname':
      role.secretName = parseNamespacedName(value, 'default');
      return;
    case 'userkey':
      role.userKey = value;
      return;
    case 'passwordkey':
      role.passwordKey = value;
      return;
    case 'rolekey':
      role.roleKey = value;
      return;
    case 'defaultuservalue':
      role.defaultUserValue = value;
      return;
    case 'defaultrolevalue':
      role.defaultRoleValue = value;
      return;
    default:
      throw new Error(
        `has an unknown property ${JSON.stringify(name)} (known: secretname, userkey, passwordkey, rolekey, ` +
          `defaultuservalue, defaultrolevalue)`,
      );
  }
}

function requireRoleKeys(role: InfrastructureRole): void {
  if (!role.secretName.name || !role.passwordKey || !(role.userKey || role.defaultUserValue)) {
    throw new Error('must name secretname, passwordkey and userkey (or defaultuservalue)');
  }
}

function readInfrastructureRole(item: unknown, index: number): InfrastructureRole {
  const spec = expectObject(item, `item ${index}`);
  const role = emptyInfrastructureRole();
  for (const [name, value] of Object.entries(spec)) {
    if (value === null || value === undefined) continue;
    if (name === 'template') {
      if (typeof value !== 'boolean') throw new Error(`item ${index}: template is not a boolean`);
      role.template = value;
    } else if (name === 'details') {
      role.details = expectString(value);
    } else if (name === 'secretname') {
      // In the CR a bare name means the operator's namespace (upstream NamespacedName.UnmarshalJSON).
      role.secretName = parseNamespacedName(expectString(value));
    } else {
      setRoleProperty(role, name, expectString(value));
    }
  }
  if (role.secretName.name === '') throw new Error(`item ${index} has no secretname`);
  return role;
}

function emptyInfrastructureRole(): InfrastructureRole {
  const secretName: NamespacedName = { namespace: '', name: '' };
  return {
    secretName,
    userKey: '',
    passwordKey: '',
    roleKey: '',
    defaultUserValue: '',
    defaultRoleValue: '',
    details: '',
    template: false,
  };
}

// pgfn extension: upstream's decoder cannot read containers from a ConfigMap string at all.
function parseContainersJson(raw: string): V1Container[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('is not a JSON array of containers');
  }
  return expectObjectList(parsed) as V1Container[];
}

function expectString(raw: unknown, what = 'a string'): string {
  if (typeof raw !== 'string') throw new Error(`is not ${what}`);
  return raw;
}

function expectInt(raw: unknown, format: IntFormat): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw)) throw new Error('is not an integer');
  return parseGoInt(String(raw), format);
}

function expectArray(raw: unknown): unknown[] {
  if (!Array.isArray(raw)) throw new Error('is not a list');
  return raw;
}

function expectStringList(raw: unknown): string[] {
  const list = expectArray(raw);
  if (!list.every((item) => typeof item === 'string')) throw new Error('is not a list of strings');
  return [...list];
}

function expectObjectList(raw: unknown): object[] {
  const list = expectArray(raw);
  if (!list.every(isPlainObject)) throw new Error('is not a list of objects');
  return list;
}

function expectStringMap(raw: unknown): Record<string, string> {
  const obj = expectObject(raw);
  if (!Object.values(obj).every((v) => typeof v === 'string')) throw new Error('is not a map of strings');
  return { ...(obj as Record<string, string>) };
}

function expectObject(raw: unknown, what = 'it'): Record<string, unknown> {
  if (!isPlainObject(raw)) throw new Error(what === 'it' ? 'is not an object' : `${what} is not an object`);
  return raw;
}

function isPlainObject(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw);
}
