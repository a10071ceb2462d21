// The SQL of every statement the diff can produce. Names always pass through quoteIdent, values
// through quoteLiteral; password hashes appear only in `sql`, never in `display`.
import { formatFlags, type FlagSet } from './flags.js';
import type { DefaultPrivilegeObject, Statement, StatementKind } from './model.js';
import { REDACTED } from './password-hash.js';
import { quoteIdent, quoteLiteral } from './quote.js';

/** Settings Postgres treats as lists of names (GUC_LIST_QUOTE); values are compared element-wise. */
export const LIST_PARAMETERS: ReadonlySet<string> = new Set([
  'search_path',
  'temp_tablespaces',
  'session_preload_libraries',
  'local_preload_libraries',
]);

interface Make {
  readonly kind: StatementKind;
  readonly sql: string;
  readonly reason: string;
  readonly database?: string;
  readonly secret?: string;
  readonly optional?: boolean;
  readonly setsPasswordOf?: string;
}

export function statement(make: Make): Statement {
  const display = make.secret === undefined ? make.sql : make.sql.replace(quoteLiteral(make.secret), REDACTED);
  return {
    kind: make.kind,
    sql: make.sql,
    display,
    reason: make.reason,
    ...(make.database !== undefined ? { database: make.database } : {}),
    ...(make.optional === true ? { optional: true } : {}),
    ...(make.setsPasswordOf !== undefined ? { setsPasswordOf: make.setsPasswordOf } : {}),
  };
}

export function roleOptions(flags: FlagSet, hash: string | undefined): string {
  const parts = [formatFlags(flags)];
  if (hash !== undefined) parts.push(`PASSWORD ${quoteLiteral(hash)}`);
  return parts.filter((p) => p !== '').join(' ');
}

export function createRoleSql(name: string, flags: FlagSet, hash: string | undefined): string {
  const options = roleOptions(flags, hash);
  return options === '' ? `CREATE ROLE ${quoteIdent(name)}` : `CREATE ROLE ${quoteIdent(name)} WITH ${options}`;
}

export function alterRoleSql(name: string, flags: FlagSet, hash: string | undefined): string {
  return `ALTER ROLE ${quoteIdent(name)} WITH ${roleOptions(flags, hash)}`;
}

/** Parameter names are validated by the model (letters, digits, `_`, dots), so they need no quoting. */
export function setParameterSql(role: string, name: string, value: string): string {
  return `ALTER ROLE ${quoteIdent(role)} SET ${name} TO ${parameterValueSql(name, value)}`;
}

/**
 * A manifest value as SQL. Upstream's YAML convention allows single quotes around the value (to
 * protect commas); they are not part of it. Lists become quoted identifiers, anything else one literal.
 */
export function parameterValueSql(name: string, value: string): string {
  if (LIST_PARAMETERS.has(name.toLowerCase())) {
    const items = parseListValue(stripOuterQuotes(value.trim(), false));
    return items.length === 0 ? "''" : items.map(quoteIdent).join(', ');
  }
  return quoteLiteral(scalarValue(value));
}

/** The value a scalar setting ends up with in pg_db_role_setting. */
export function scalarValue(value: string): string {
  return stripOuterQuotes(value.trim(), true);
}

/** `'it''s'` -> `it's`: what Postgres makes of a quoted value upstream passes through verbatim. */
function stripOuterQuotes(value: string, double: boolean): string {
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1).replaceAll("''", "'");
  if (double && value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1).replaceAll('""', '"');
  return value;
}

/**
 * Splits a list setting into names the way Postgres' parser reads `SET x TO a, "B c"`: commas
 * outside double quotes separate, quoted names keep their case, bare names are lower-cased.
 * Works on manifest values and on the stored form alike.
 */
export function parseListValue(value: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  let wasQuoted = false;
  const push = (): void => {
    const item = wasQuoted ? current : current.trim().toLowerCase();
    if (item !== '' || wasQuoted) items.push(item);
    current = '';
    wasQuoted = false;
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (quoted) {
      if (c === '"' && value[i + 1] === '"') {
        current += '"';
        i++;
      } else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"') {
      quoted = true;
      wasQuoted = true;
      current = '';
    } else if (c === ',') {
      push();
    } else if (!wasQuoted) {
      current += c;
    }
  }
  push();
  return items.filter((item) => item !== '');
}

export function grantRoleSql(group: string, member: string, admin: boolean): string {
  return `GRANT ${quoteIdent(group)} TO ${quoteIdent(member)}${admin ? ' WITH ADMIN OPTION' : ''}`;
}

export function revokeRoleSql(group: string, member: string): string {
  return `REVOKE ${quoteIdent(group)} FROM ${quoteIdent(member)}`;
}

export function dropRoleSql(name: string): string {
  return `DROP ROLE IF EXISTS ${quoteIdent(name)}`;
}

export function createDatabaseSql(name: string, owner: string): string {
  return `CREATE DATABASE ${quoteIdent(name)} OWNER ${quoteIdent(owner)}`;
}

export function alterDatabaseOwnerSql(name: string, owner: string): string {
  return `ALTER DATABASE ${quoteIdent(name)} OWNER TO ${quoteIdent(owner)}`;
}

/** Without an owner the schema belongs to the connecting user. */
export function createSchemaSql(name: string, owner?: string): string {
  const authorization = owner === undefined ? '' : ` AUTHORIZATION ${quoteIdent(owner)}`;
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(name)}${authorization}`;
}

export function grantSchemaUsageSql(schema: string, grantees: readonly string[]): string {
  return `GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${grantees.map(quoteIdent).join(', ')}`;
}

const OBJECT_SQL: Readonly<Record<DefaultPrivilegeObject, string>> = {
  tables: 'TABLES',
  sequences: 'SEQUENCES',
  functions: 'FUNCTIONS',
  types: 'TYPES',
  schemas: 'SCHEMAS',
};

/** Privilege keywords are fixed by the model (SELECT, USAGE …), never taken from input. */
export function alterDefaultPrivilegesSql(g: {
  owner: string;
  schema: string | undefined;
  object: DefaultPrivilegeObject;
  privileges: readonly string[];
  grantees: readonly string[];
}): string {
  const inSchema = g.schema === undefined ? '' : ` IN SCHEMA ${quoteIdent(g.schema)}`;
  const grant = `GRANT ${g.privileges.join(', ')} ON ${OBJECT_SQL[g.object]} TO ${g.grantees.map(quoteIdent).join(', ')}`;
  return `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(g.owner)}${inSchema} ${grant}`;
}

export function createExtensionSql(name: string, schema: string): string {
  return `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(name)} SCHEMA ${quoteIdent(schema)}`;
}

export function alterExtensionSql(name: string, schema: string): string {
  return `ALTER EXTENSION ${quoteIdent(name)} SET SCHEMA ${quoteIdent(schema)}`;
}
