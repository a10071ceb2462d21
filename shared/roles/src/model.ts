// The vocabulary of the package: roles as the manifest and configuration ask for them (RoleSpec),
// the state the diff aims at (DesiredState), the state read from the catalogs (CurrentState), and
// the ordered SQL statements between them (Statement).
import type { OperatorConfig } from '@pgfn/api';
import type { FlagSet, RoleFlag } from './flags.js';
import type { PasswordEncryption } from './password-hash.js';

/** Where a role comes from; on a name clash the later origin in this list wins (upstream spec.RoleOrigin). */
export const ROLE_ORIGINS = ['manifest', 'infrastructure', 'teams-api', 'system', 'bootstrap', 'connection-pooler', 'stream'] as const;
export type RoleOrigin = (typeof ROLE_ORIGINS)[number];

/** Which system user a role is (upstream constants.SuperuserKeyName …). */
export type SystemUserKey = 'superuser' | 'replication' | 'pooler' | 'stream';

/** A role the cluster should have, before its credentials are known. */
export interface RoleSpec {
  readonly name: string;
  readonly origin: RoleOrigin;
  readonly flags: FlagSet;
  /** Roles this role is granted (IN ROLE). */
  readonly memberOf: readonly string[];
  /** A role that holds ADMIN OPTION on this one (CREATE ROLE … ADMIN). */
  readonly adminRole?: string;
  /** Role settings (ALTER ROLE … SET); empty = leave the role's settings alone. */
  readonly parameters: Readonly<Record<string, string>>;
  /** Owns a database of the manifest, or is a `_owner` role of a prepared database. */
  readonly isDbOwner: boolean;
  /** Namespace of its credentials Secret; undefined = the role has no Secret. */
  readonly secretNamespace?: string;
  /** The password the infrastructure gives (infrastructure roles only); it wins over the Secret. */
  readonly password?: string;
  readonly systemKey?: SystemUserKey;
}

/** Something wrong in the input, named by its field path. `error` entries were skipped. */
export interface Problem {
  readonly level: 'error' | 'warning';
  readonly path: string;
  readonly message: string;
}

/** The configuration keys this package reads. */
export type RolesConfig = Pick<
  OperatorConfig,
  | 'superUsername'
  | 'replicationUsername'
  | 'protectedRoleNames'
  | 'additionalOwnerRoles'
  | 'enableAdminRoleForUsers'
  | 'teamAdminRole'
  | 'enableCrossNamespaceSecret'
  | 'connectionPoolerUser'
  | 'connectionPoolerSchema'
  | 'enablePasswordRotation'
  | 'passwordRotationInterval'
  | 'passwordRotationUserRetention'
  | 'secretNameTemplate'
>;

// ---------------------------------------------------------------------------------------------
// Desired state: what the diff makes true. Names are final; passwords are plain here and hashed
// only when a statement is produced.

export interface DesiredRole {
  readonly name: string;
  readonly flags: FlagSet;
  readonly memberOf: readonly string[];
  /** Roles that must be members of this role WITH ADMIN OPTION. */
  readonly admins: readonly string[];
  /** Settings to enforce; undefined = leave the role's settings alone. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Rotation users: take the settings of this role as the catalog has them (settings are not inherited). */
  readonly parametersFrom?: string;
  /** Plain password; undefined = keep what the role has (no password for a new role). */
  readonly password?: string;
}

export interface DesiredDatabase {
  readonly name: string;
  readonly owner: string;
  /** Change the owner of an existing database (true for `databases`, false for preparedDatabases as upstream). */
  readonly enforceOwner: boolean;
}

export interface DesiredSchema {
  readonly database: string;
  readonly name: string;
  readonly owner: string;
}

export interface DesiredExtension {
  readonly database: string;
  readonly name: string;
  readonly schema: string;
}

export type DefaultPrivilegeObject = 'tables' | 'sequences' | 'functions' | 'types' | 'schemas';

/** ALTER DEFAULT PRIVILEGES FOR ROLE owner [IN SCHEMA schema] GRANT privileges ON object TO grantees. */
export interface DefaultPrivilege {
  readonly database: string;
  readonly owner: string;
  /** undefined = for the whole database. */
  readonly schema?: string;
  readonly object: DefaultPrivilegeObject;
  readonly privileges: readonly string[];
  readonly grantees: readonly string[];
}

/** GRANT USAGE ON SCHEMA schema TO grantees. */
export interface SchemaUsage {
  readonly database: string;
  readonly schema: string;
  readonly grantees: readonly string[];
}

/** PgBouncer's auth_query target: `<schema>.user_lookup(text)`, executable by `user` only. */
export interface PoolerLookup {
  readonly schema: string;
  readonly user: string;
}

/** Drop rotation users `<base><YYMMDD>` created before `createdBefore`, except those in `keep`. */
export interface RotationCleanup {
  readonly base: string;
  readonly keep: readonly string[];
  readonly createdBefore: Date;
}

export interface DesiredState {
  readonly roles: readonly DesiredRole[];
  readonly databases: readonly DesiredDatabase[];
  readonly schemas: readonly DesiredSchema[];
  readonly schemaUsage: readonly SchemaUsage[];
  readonly defaultPrivileges: readonly DefaultPrivilege[];
  readonly extensions: readonly DesiredExtension[];
  /** Installed into every database that accepts connections. */
  readonly pooler?: PoolerLookup;
  readonly rotationCleanup: readonly RotationCleanup[];
  readonly passwordEncryption: PasswordEncryption;
}

// ---------------------------------------------------------------------------------------------
// Current state, as read from the catalogs.

export interface Membership {
  readonly role: string;
  readonly admin: boolean;
}

export interface CurrentRole {
  readonly name: string;
  readonly flags: Readonly<Record<RoleFlag, boolean>>;
  /** pg_authid.rolpassword: a hash, or null. */
  readonly password: string | null;
  readonly memberOf: readonly Membership[];
  /** Role-wide settings (pg_db_role_setting with setdatabase = 0). */
  readonly parameters: ReadonlyMap<string, string>;
}

export interface CurrentDatabase {
  readonly name: string;
  readonly owner: string;
  readonly allowConnections: boolean;
  readonly isTemplate: boolean;
}

export interface CurrentSchema {
  readonly name: string;
  readonly owner: string;
  /** Grantees holding USAGE ("PUBLIC" for everyone). */
  readonly usage: readonly string[];
}

export interface PoolerFunctionState {
  readonly source: string;
  readonly securityDefiner: boolean;
  readonly config: readonly string[];
  readonly owner: string;
  /** Grantees holding EXECUTE ("PUBLIC" for everyone). */
  readonly executors: readonly string[];
}

/** Objects inside one database. */
export interface DatabaseObjects {
  readonly schemas: ReadonlyMap<string, CurrentSchema>;
  /** extension -> schema */
  readonly extensions: ReadonlyMap<string, string>;
  /** Keys made by defaultAclKey(). */
  readonly defaultPrivileges: ReadonlySet<string>;
  /** The lookup function in the pooler schema the reader was asked about. */
  readonly poolerFunction?: PoolerFunctionState;
}

export interface CurrentState {
  readonly roles: ReadonlyMap<string, CurrentRole>;
  readonly databases: ReadonlyMap<string, CurrentDatabase>;
  /** Per database that was read; `template1` stands for a database created by this sync. */
  readonly objects: ReadonlyMap<string, DatabaseObjects>;
}

/** pg_default_acl.defaclobjtype for each object kind. */
export const DEFAULT_ACL_OBJTYPE: Readonly<Record<DefaultPrivilegeObject, string>> = {
  tables: 'r',
  sequences: 'S',
  functions: 'f',
  types: 'T',
  schemas: 'n',
};

/** One default-privilege fact: `owner`'s future `objtype` objects in `schema` ('' = any) grant `privilege` to `grantee`. */
export function defaultAclKey(k: { owner: string; schema: string; objtype: string; grantee: string; privilege: string }): string {
  return [k.owner, k.schema, k.objtype, k.grantee, k.privilege].join('\u0000');
}

// ---------------------------------------------------------------------------------------------
// The plan.

export type StatementKind =
  | 'create-role'
  | 'alter-role'
  | 'role-setting'
  | 'grant-role'
  | 'revoke-role'
  | 'drop-role'
  | 'create-database'
  | 'alter-database'
  | 'create-schema'
  | 'grant-schema'
  | 'default-privileges'
  | 'create-extension'
  | 'alter-extension'
  | 'pooler';

export interface Statement {
  readonly kind: StatementKind;
  /** Database to run in; undefined = the maintenance database of the connection. */
  readonly database?: string;
  readonly sql: string;
  /** `sql` with password hashes redacted, for logs and Events. */
  readonly display: string;
  /** Why the statement is needed, in a sentence. */
  readonly reason: string;
  /** A failure is a warning, not an error (dropping an old rotation user that still owns objects). */
  readonly optional?: boolean;
  /** The role whose password this statement sets (create-role / alter-role). */
  readonly setsPasswordOf?: string;
}

export interface Plan {
  readonly statements: readonly Statement[];
  /** Things the plan had to skip (a grant to a role that does not exist …). */
  readonly warnings: readonly string[];
}
