// Infrastructure roles from the Secrets (and ConfigMaps) the operator configuration names, read the
// way upstream does (pkg/controller/util.go: getInfrastructureRoleDefinitions, getInfrastructureRoles,
// getInfrastructureRole). Three forms: the old single Secret (`infrastructure_roles_secret_name`, keys
// user1/password1/inrole1, user2/…), one role per Secret described by its keys
// (`infrastructure_roles_secrets`, list or ConfigMap text: userkey/passwordkey/rolekey with
// defaultuservalue/defaultrolevalue), and a ConfigMap of the Secret's name describing roles by name
// (YAML with user_flags, inrole, db_parameters, admin_role) whose passwords are the Secret's keys.
import { Buffer } from 'node:buffer';
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { InfrastructureRole, OperatorConfig } from '@pgfn/api';
import type { KubeClient } from '@pgfn/kube';
import { parse as parseYaml } from 'yaml';
import type { InfrastructureRoleInput } from './role-specs.js';

/** Where infrastructure roles come from, in upstream's order (a later role of the same name wins). */
export function infrastructureRoleDefinitions(
  config: Pick<OperatorConfig, 'infrastructureRolesSecrets' | 'infrastructureRolesSecretName'>,
): InfrastructureRole[] {
  const defs = config.infrastructureRolesSecrets.filter((d) => d.secretName.name !== '');
  const old = config.infrastructureRolesSecretName;
  if (old !== undefined && old.name !== '') {
    defs.push({
      secretName: old,
      userKey: 'user',
      passwordKey: 'password',
      roleKey: 'inrole',
      defaultUserValue: '',
      defaultRoleValue: '',
      details: '',
      template: true,
    });
  }
  return defs;
}

/** One definition with what its Secret and ConfigMap hold (decoded); `secret` undefined = it does not exist. */
export interface InfrastructureRoleSource {
  readonly definition: InfrastructureRole;
  readonly secret?: Readonly<Record<string, string>>;
  readonly configMap?: Readonly<Record<string, string>>;
}

export interface InfrastructureRoles {
  readonly roles: InfrastructureRoleInput[];
  /** Definitions or entries that were skipped, in sentences (never a password). */
  readonly problems: string[];
}

/** Pure: the roles the sources describe, a later role of a name replacing an earlier one. */
export function parseInfrastructureRoles(sources: readonly InfrastructureRoleSource[]): InfrastructureRoles {
  const byName = new Map<string, InfrastructureRoleInput>();
  const problems: string[] = [];
  for (const source of sources) {
    const where = `${source.definition.secretName.namespace}/${source.definition.secretName.name}`;
    if (source.secret === undefined) {
      problems.push(`the infrastructure roles Secret ${where} does not exist`);
      continue;
    }
    const unused = new Map(Object.entries(source.secret));
    const found = source.definition.template
      ? fromTemplate(source.definition, unused)
      : fromKeys(source.definition, unused, where, problems);
    found.push(...fromConfigMap(source.configMap ?? {}, unused, where, problems));
    for (const role of found) byName.set(role.name, role);
  }
  return { roles: [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1)), problems };
}

/** user1/password1/inrole1, user2/…: until the next index has no user key. */
function fromTemplate(def: InfrastructureRole, data: Map<string, string>): InfrastructureRoleInput[] {
  const out: InfrastructureRoleInput[] = [];
  for (let i = 1; data.has(`${def.userKey}${i}`); i++) {
    const take = (key: string): string | undefined => {
      const value = data.get(`${key}${i}`);
      data.delete(`${key}${i}`);
      return value;
    };
    const name = take(def.userKey) ?? '';
    const password = take(def.passwordKey) ?? '';
    const inrole = take(def.roleKey);
    // A role without a password is incomplete and ignored, as upstream's PgUser.Valid.
    if (name !== '' && password !== '') out.push({ name, password, memberOf: inrole ? [inrole] : [] });
  }
  return out;
}

/** One role: its name, password and group from the definition's keys or default values. */
function fromKeys(def: InfrastructureRole, data: Map<string, string>, where: string, problems: string[]): InfrastructureRoleInput[] {
  const name = (def.userKey ? data.get(def.userKey) : undefined) || def.defaultUserValue;
  const password = data.get(def.passwordKey) ?? '';
  const inrole = (def.roleKey ? data.get(def.roleKey) : undefined) || def.defaultRoleValue;
  if (!name || password === '') {
    problems.push(`the infrastructure role of Secret ${where} has no ${name ? 'password' : 'user name'} and is ignored`);
    return [];
  }
  const details = def.details ? data.get(def.details) : undefined;
  const described = details === undefined ? {} : describedRole(details, `${where} key ${def.details}`, problems);
  return [{ ...described, name, password, memberOf: [...(described.memberOf ?? []), ...(inrole ? [inrole] : [])] }];
}

/** ConfigMap `role: <YAML description>`; the password is the Secret's key of the role's name. */
function fromConfigMap(
  data: Readonly<Record<string, string>>,
  secret: Map<string, string>,
  where: string,
  problems: string[],
): InfrastructureRoleInput[] {
  const out: InfrastructureRoleInput[] = [];
  for (const [name, text] of Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const password = secret.get(name);
    if (password === undefined || password === '') {
      problems.push(`the infrastructure role ${JSON.stringify(name)} of ConfigMap ${where} has no password in the Secret and is ignored`);
      continue;
    }
    out.push({ ...describedRole(text, `ConfigMap ${where} key ${name}`, problems), name, password });
  }
  return out;
}

/** user_flags, inrole, db_parameters, admin_role of a YAML role description (upstream PgUser's YAML names). */
function describedRole(text: string, where: string, problems: string[]): Omit<InfrastructureRoleInput, 'name' | 'password'> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    problems.push(`${where} is not a YAML role description: ${(err as Error).message}`);
    return {};
  }
  const d = (doc !== null && typeof doc === 'object' ? doc : {}) as Record<string, unknown>;
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
  const params = d['db_parameters'];
  return {
    flags: strings(d['user_flags']),
    memberOf: strings(d['inrole']),
    ...(params !== null && typeof params === 'object'
      ? { parameters: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) }
      : {}),
    ...(typeof d['admin_role'] === 'string' && d['admin_role'] !== '' ? { adminRole: d['admin_role'] } : {}),
  };
}

/** Reads each definition's Secret and its same-named ConfigMap (two gets per definition) and parses them. */
export async function readInfrastructureRoles(
  kube: KubeClient,
  config: Pick<OperatorConfig, 'infrastructureRolesSecrets' | 'infrastructureRolesSecretName'>,
): Promise<InfrastructureRoles> {
  const sources = await Promise.all(
    infrastructureRoleDefinitions(config).map(async (definition): Promise<InfrastructureRoleSource> => {
      const ref = { namespace: definition.secretName.namespace || 'default', name: definition.secretName.name };
      const [secret, configMap] = await Promise.all([
        kube.get<V1Secret>({ apiVersion: 'v1', kind: 'Secret', ...ref }),
        kube.get<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', ...ref }),
      ]);
      return {
        definition,
        ...(secret === undefined ? {} : { secret: decoded(secret) }),
        ...(configMap?.data === undefined ? {} : { configMap: configMap.data }),
      };
    }),
  );
  return parseInfrastructureRoles(sources);
}

function decoded(secret: V1Secret): Record<string, string> {
  return {
    ...Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')])),
    ...(secret.stringData ?? {}),
  };
}
