// PgBouncer's auth_query target in every database: `<schema>.user_lookup(i_username)` returning the
// login name and password hash from pg_shadow, SECURITY DEFINER, executable by the pooler user only.
// Signature and grants as upstream pkg/cluster/database.go (connectionPoolerLookup); the body is
// ours, with a pinned search_path so the definer's rights cannot be borrowed through a planted
// function or operator.
import type { PoolerFunctionState, PoolerLookup } from './model.js';
import { quoteIdent } from './quote.js';

/** The function body exactly as Postgres stores it in pg_proc.prosrc. */
export const USER_LOOKUP_BODY = 'SELECT usename::text, passwd FROM pg_catalog.pg_shadow WHERE usename = i_username';
/** proconfig of the function. */
export const USER_LOOKUP_CONFIG = 'search_path=pg_catalog, pg_temp';

export function createUserLookupSql(schema: string): string {
  return (
    `CREATE OR REPLACE FUNCTION ${quoteIdent(schema)}.user_lookup(i_username text, OUT uname text, OUT phash text) ` +
    'RETURNS record LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp ' +
    `AS $pgfn_lookup$${USER_LOOKUP_BODY}$pgfn_lookup$`
  );
}

export function revokeUserLookupSql(schema: string): string {
  return `REVOKE ALL ON FUNCTION ${quoteIdent(schema)}.user_lookup(text) FROM PUBLIC`;
}

export function grantUserLookupSql(lookup: PoolerLookup): string {
  return `GRANT EXECUTE ON FUNCTION ${quoteIdent(lookup.schema)}.user_lookup(text) TO ${quoteIdent(lookup.user)}`;
}

/** Is the function there, with our body and settings? Grants are checked separately. */
export function userLookupCurrent(state: PoolerFunctionState | undefined): boolean {
  return (
    state !== undefined &&
    state.securityDefiner &&
    state.source === USER_LOOKUP_BODY &&
    state.config.length === 1 &&
    state.config[0] === USER_LOOKUP_CONFIG
  );
}
