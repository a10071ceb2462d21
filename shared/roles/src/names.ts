// Naming rules for roles, databases and schemas, and the names the operator derives from them.
// Rules from upstream pkg/cluster/cluster.go (userRegexp, databaseNameRegexp, alphaNumericRegexp)
// and pkg/util/constants/roles.go (suffixes, rotation date format).
import { identifierProblem } from './quote.js';

/** Manifest and infrastructure role names: lower-case words joined by `-`/`_`, dot-separated parts. */
const USER_NAME = /^[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*$/;
/** Database and schema names of the manifest. */
const DATABASE_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Parameter (GUC) names: letters, digits, `_`, and dots for extension-defined settings. */
const PARAMETER_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*)*$/;

export const OWNER_SUFFIX = '_owner';
export const READER_SUFFIX = '_reader';
export const WRITER_SUFFIX = '_writer';
export const USER_SUFFIX = '_user';
/** Schema a prepared database gets when it lists none. */
export const DEFAULT_PREPARED_SCHEMA = 'data';
/** The admin of every `<db>_owner` role; upstream hard-codes it (initPreparedDatabaseRoles). */
export const PREPARED_DATABASE_ADMIN_ROLE = 'admin';
/** The user of event streams (upstream EventStreamSourceSlotPrefix + "_user"). */
export const STREAM_USER = 'fes_user';
/** Length of the YYMMDD suffix of rotation users. */
export const ROTATION_SUFFIX_LENGTH = 6;

/** Why `name` cannot be a manifest/infrastructure role, or undefined when it can. */
export function userNameProblem(name: string): string | undefined {
  if (!USER_NAME.test(name)) {
    return 'is not a valid role name (lower-case letters, digits, "-" and "_" inside, dot-separated parts)';
  }
  return identifierProblem(name);
}

/** Why `name` cannot be a manifest database or schema, or undefined when it can. */
export function databaseNameProblem(name: string): string | undefined {
  if (!DATABASE_NAME.test(name)) return 'is not a valid name (letters, digits and "_", not starting with a digit)';
  return identifierProblem(name);
}

export function parameterNameProblem(name: string): string | undefined {
  if (!PARAMETER_NAME.test(name)) return 'is not a valid parameter name';
  return identifierProblem(name);
}

/** Database of `preparedDatabases: {}`: the cluster name with dashes as underscores. */
export function defaultPreparedDatabaseName(clusterName: string): string {
  return clusterName.replaceAll('-', '_');
}

/** `060102` in Go's layout (two-digit year, month, day, UTC) and `<base><YYMMDD>`: the credential model's. */
export { rotationSuffix as rotationDateSuffix, rotationUserName } from '@pgfn/builder';

/**
 * The creation date of a rotation user of `base`, or undefined when `name` is not one. Two-digit
 * years follow Go's time.Parse: 69–99 are 19xx, 00–68 are 20xx.
 */
export function rotationUserDate(name: string, base: string): Date | undefined {
  if (!name.startsWith(base) || name.length !== base.length + ROTATION_SUFFIX_LENGTH) return undefined;
  const m = /^(\d\d)(\d\d)(\d\d)$/.exec(name.slice(base.length));
  if (m === null) return undefined;
  const yy = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const year = yy >= 69 ? 1900 + yy : 2000 + yy;
  const date = new Date(Date.UTC(year, month - 1, day));
  // Reject 991399 and friends rather than letting Date roll them over.
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  return date;
}
