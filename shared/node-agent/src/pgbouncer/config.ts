// pgbouncer.ini for the operator's connection pooler pods, from the env the operator sets
// (pkg/cluster/connection_pooler.go: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSCHEMA,
// CONNECTION_POOLER_PORT, _MODE, _DEFAULT_SIZE, _MIN_SIZE, _RESERVE_SIZE, _MAX_CLIENT_CONN, _MAX_DB_CONN).
// Like Zalando's pooler image: every database goes to PGHOST through auth_user PGUSER, users are
// looked up with PGSCHEMA.user_lookup, TLS is required on both sides. Adaptations for a local pod:
// PGHOST (a Service name) is replaced by the addresses of its ready pods, and we listen on the pod's
// address only.
import { ContainerConfigError } from '../env.js';

export interface PgBouncerSettings {
  readonly podIP: string;
  /** Addresses of PGHOST's ready pods; empty while none is ready. */
  readonly upstream: readonly { ip: string; port: number }[];
  readonly runDir: string;
  /** Extra userlist lines mounted by the operator (/etc/pgbouncer/userlist.txt), if any. */
  readonly mountedUserlist?: string;
}

export interface PgBouncerFiles {
  readonly ini: string;
  readonly userlist: string;
}

/** Where a pooler with no ready upstream sends connections: nothing listens on port 1. */
const NOWHERE = { ip: '127.0.0.1', port: 1 };

export function pgbouncerFiles(env: Readonly<Record<string, string>>, s: PgBouncerSettings): PgBouncerFiles {
  const need = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '')
      throw new ContainerConfigError(`environment variable ${name} is required by the connection pooler`);
    return value;
  };
  const user = need('PGUSER');
  const password = need('PGPASSWORD');
  const schema = env['PGSCHEMA'] || user;
  const targets = s.upstream.length > 0 ? s.upstream : [NOWHERE];
  const port = targets[0]?.port ?? 5432;
  const host = targets.map((t) => t.ip).join(',');
  const num = (name: string, fallback: string): string => {
    const value = env[name] ?? fallback;
    if (!/^\d+$/.test(value)) throw new ContainerConfigError(`${name}="${value}" must be a whole number`);
    return value;
  };
  const lines = [
    '[databases]',
    `* = host=${host} port=${port} auth_user=${user}`,
    '',
    '[pgbouncer]',
    `listen_addr = ${s.podIP}`,
    `listen_port = ${num('CONNECTION_POOLER_PORT', '5432')}`,
    `unix_socket_dir = ${s.runDir}`,
    `pool_mode = ${env['CONNECTION_POOLER_MODE'] || 'transaction'}`,
    'auth_type = md5',
    `auth_file = ${s.runDir}/userlist.txt`,
    `auth_query = SELECT * FROM ${schema}.user_lookup($1)`,
    `admin_users = ${user}`,
    `default_pool_size = ${num('CONNECTION_POOLER_DEFAULT_SIZE', '20')}`,
    `min_pool_size = ${num('CONNECTION_POOLER_MIN_SIZE', '0')}`,
    `reserve_pool_size = ${num('CONNECTION_POOLER_RESERVE_SIZE', '0')}`,
    'reserve_pool_timeout = 1',
    `max_client_conn = ${num('CONNECTION_POOLER_MAX_CLIENT_CONN', '10000')}`,
    `max_db_connections = ${num('CONNECTION_POOLER_MAX_DB_CONN', '60')}`,
    'server_tls_sslmode = require',
    'server_tls_protocols = secure',
    'client_tls_sslmode = require',
    `client_tls_key_file = ${s.runDir}/pgbouncer.key`,
    `client_tls_cert_file = ${s.runDir}/pgbouncer.crt`,
    'ignore_startup_parameters = extra_float_digits,options',
    'log_connections = 0',
    'log_disconnections = 0',
    '',
  ];
  const quote = (v: string): string => `"${v.replace(/"/g, '""')}"`;
  const userlist = `${quote(user)} ${quote(password)}\n${s.mountedUserlist ?? ''}`;
  return { ini: lines.join('\n'), userlist };
}
