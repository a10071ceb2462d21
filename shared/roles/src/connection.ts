// Connections to the master: one pg.Client per database, opened on first use, with timeouts and
// sslmode as libpq understands it. Finding the master is the caller's job (see master.ts).
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface ConnectionConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Database for cluster-wide statements. Default `postgres`. */
  readonly database?: string;
  /** Default `require`, as upstream connects. */
  readonly sslmode?: SslMode;
  /** PEM CA bundle for verify-ca / verify-full. */
  readonly sslRootCert?: string;
  /** Default 10 s (upstream PostgresConnectTimeout is 15 s). */
  readonly connectTimeoutMs?: number;
  /** Per statement; default 60 s. */
  readonly statementTimeoutMs?: number;
  /** Waiting for a lock; default 10 s. */
  readonly lockTimeoutMs?: number;
  readonly applicationName?: string;
}

export const DEFAULT_MAINTENANCE_DATABASE = 'postgres';

/** Opens a client to `database`; with sslmode prefer/allow, retries without TLS when the server has none. */
export async function openClient(config: ConnectionConfig, database: string): Promise<pg.Client> {
  const mode = config.sslmode ?? 'require';
  try {
    return await connect(config, database, sslOption(mode, config.sslRootCert, config.host));
  } catch (err) {
    if ((mode === 'prefer' || mode === 'allow') && /does not support SSL/i.test((err as Error).message)) {
      return connect(config, database, false);
    }
    throw err;
  }
}

async function connect(config: ConnectionConfig, database: string, ssl: boolean | ConnectionOptions): Promise<pg.Client> {
  const client = new pg.Client({
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password,
    database,
    ssl,
    connectionTimeoutMillis: config.connectTimeoutMs ?? 10_000,
    statement_timeout: config.statementTimeoutMs ?? 60_000,
    lock_timeout: config.lockTimeoutMs ?? 10_000,
    application_name: config.applicationName ?? 'pgfn-roles',
  });
  // A dropped connection must not crash the process; the next query reports it and is retried.
  client.on('error', () => undefined);
  try {
    await client.connect();
    // Role DDL must not wait for synchronous standbys that may be gone (upstream sets this per statement).
    await client.query("SET synchronous_commit = 'local'");
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/** libpq's sslmode in node-postgres terms. `allow` tries TLS first, like `prefer`. */
export function sslOption(mode: SslMode, ca: string | undefined, host: string): boolean | ConnectionOptions {
  switch (mode) {
    case 'disable':
      return false;
    case 'allow':
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      // The chain is checked, the host name is not.
      return { rejectUnauthorized: true, ...(ca !== undefined ? { ca } : {}), checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true, ...(ca !== undefined ? { ca } : {}), servername: host };
  }
}

/**
 * Clients by database, opened lazily and reopened after a broken connection. Besides the
 * maintenance database at most one other stays open: clusters may allow few connections
 * (upstream also uses one at a time), and the plan visits databases one after the other.
 */
export class Sessions {
  private readonly clients = new Map<string, pg.Client>();
  private current: ConnectionConfig;

  constructor(config: ConnectionConfig) {
    this.current = config;
  }

  get config(): ConnectionConfig {
    return this.current;
  }

  /** After the sync changed the password of the user it connects as: new connections use the new one. */
  usePassword(password: string): void {
    this.current = { ...this.current, password };
  }

  get maintenanceDatabase(): string {
    return this.config.database ?? DEFAULT_MAINTENANCE_DATABASE;
  }

  async client(database?: string): Promise<pg.Client> {
    const name = database ?? this.maintenanceDatabase;
    const open = this.clients.get(name);
    if (open !== undefined) return open;
    for (const other of [...this.clients.keys()]) if (other !== this.maintenanceDatabase) await this.drop(other);
    const client = await openClient(this.config, name);
    this.clients.set(name, client);
    return client;
  }

  /** Forgets (and closes) the client of a database after its connection broke. */
  async drop(database?: string): Promise<void> {
    const name = database ?? this.maintenanceDatabase;
    const client = this.clients.get(name);
    this.clients.delete(name);
    await client?.end().catch(() => undefined);
  }

  /** Closes every client but the maintenance database's: CREATE DATABASE fails while anyone is connected to its template. */
  async releaseOthers(): Promise<void> {
    for (const name of [...this.clients.keys()]) if (name !== this.maintenanceDatabase) await this.drop(name);
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((c) => c.end().catch(() => undefined)));
  }
}
