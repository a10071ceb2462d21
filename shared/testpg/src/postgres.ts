// A throwaway PostgreSQL server for tests and benchmarks: Debian's PostgreSQL 15 binaries, one data
// directory in a temp dir, listening on 127.0.0.1 only, scram-sha-256 for every TCP connection.
// Postgres refuses to run as root, so when we are root the server runs as the `postgres` OS user.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '@pgfn/controlplane';

/** Where Debian installs PostgreSQL 15 (package postgresql-15). */
export const PG_BIN_DIR = '/usr/lib/postgresql/15/bin';

/** How to reach a running test server; JSON-serialisable so a test run can hand it to workers. */
export interface PostgresConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

export interface StartPostgresOptions {
  /** Directory to use (created if missing, kept on stop). Default: a fresh temp dir, removed on stop. */
  readonly dir?: string;
  /** Extra `-c name=value` server settings. */
  readonly settings?: Readonly<Record<string, string>>;
  /** How long to wait for the server to accept connections. Default 30 s. */
  readonly readyTimeoutMs?: number;
}

export interface RunningPostgres extends PostgresConnection {
  readonly dir: string;
  readonly logFile: string;
  readonly pid: number;
  /** Fast shutdown of the whole process group; SIGKILL after `graceMs`. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of the server log, for a failing test's report. */
  logTail(lines?: number): string;
}

interface OsUser {
  readonly uid: number;
  readonly gid: number;
}

/** True when this machine has the PostgreSQL 15 server binaries. */
export function postgresAvailable(): boolean {
  return existsSync(join(PG_BIN_DIR, 'initdb')) && existsSync(join(PG_BIN_DIR, 'postgres'));
}

/** Starts a server and resolves once it accepts an authenticated connection. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<RunningPostgres> {
  if (!postgresAvailable()) {
    throw new Error(`PostgreSQL 15 is not installed (no ${PG_BIN_DIR}/initdb): install the Debian package postgresql-15`);
  }
  const removeOnStop = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'pgfn-pg-'));
  mkdirSync(dir, { recursive: true });
  const owner = serverUser();
  const dataDir = join(dir, 'data');
  const pwfile = join(dir, 'superuser-password');
  let password: string;
  if (existsSync(join(dataDir, 'PG_VERSION'))) {
    password = readFileSync(pwfile, 'utf8'); // a kept dir: the superuser password initdb was given
  } else {
    password = randomBytes(18).toString('base64url');
    initDataDir({ dir, dataDir, owner }, pwfile, password);
  }

  const port = await freePort('127.0.0.1');
  const logFile = join(dir, 'postgres.log');
  const child = launch({ dir, dataDir, owner }, { port, logFile, settings: options.settings ?? {} });
  const pid = child.pid;
  if (pid === undefined) throw new Error('postgres did not start (no pid)');
  const watchdog = startWatchdog(pid);
  const connection: PostgresConnection = { host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' };
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));

  let stopped = false;
  const stop = async (graceMs = 10_000): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Postgres' children leave the postmaster's process group (each calls setsid), so remember them:
    // a graceful stop takes them along, a SIGKILLed postmaster would orphan them.
    const children = childPids(pid);
    signalGroup(pid, 'SIGINT'); // fast shutdown: ends sessions, no checkpoint wait for fsync=off
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    signalGroup(pid, 'SIGKILL'); // anything left in the group
    for (const child of children) signalGroup(child, 'SIGKILL');
    if (watchdog !== undefined) signalGroup(watchdog, 'SIGKILL');
    if (removeOnStop) rmSync(dir, { recursive: true, force: true });
  };
  const logTail = (lines = 30): string => tail(logFile, lines);

  try {
    await waitReady(connection, exited, options.readyTimeoutMs ?? 30_000);
  } catch (err) {
    await stop();
    throw new Error(`postgres did not become ready: ${(err as Error).message}\n${tail(logFile, 20)}`, { cause: err });
  }
  return { ...connection, dir, logFile, pid, stop, logTail };
}

/** The OS user to run the server as: `postgres` when we are root, else ourselves. */
function serverUser(): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid)) {
    throw new Error('running as root but there is no `postgres` OS user to run the server as (install postgresql-15)');
  }
  return { uid, gid };
}

/** Where a server lives and as whom it runs. */
interface ServerHome {
  readonly dir: string;
  readonly dataDir: string;
  /** The OS user owning the files and running postgres (when started as root); undefined: this process's. */
  readonly owner: OsUser | undefined;
}

function initDataDir({ dir, dataDir, owner }: ServerHome, pwfile: string, password: string): void {
  writeFileSync(pwfile, password, { mode: 0o600 });
  if (owner !== undefined) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  const result = spawnSync(
    join(PG_BIN_DIR, 'initdb'),
    [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--pwfile',
      pwfile,
      '--auth-local=scram-sha-256',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
      '--no-instructions',
    ],
    { encoding: 'utf8', cwd: dir, env: { ...process.env, LC_ALL: 'C' }, ...(owner ?? {}) },
  );
  if (result.status !== 0) {
    throw new Error(`initdb failed (exit ${result.status}): ${result.stderr || result.stdout || result.error?.message}`);
  }
}

function launch(
  { dir, dataDir, owner }: ServerHome,
  { port, logFile, settings }: { readonly port: number; readonly logFile: string; readonly settings: Readonly<Record<string, string>> },
): ChildProcess {
  const all: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: dir,
    // Durability buys nothing in a throwaway server; these make DDL-heavy tests several times faster.
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '200',
    password_encryption: 'scram-sha-256',
    ...settings,
  };
  const args = ['-D', dataDir];
  for (const [name, value] of Object.entries(all)) args.push('-c', `${name}=${value}`);
  const fd = openSync(logFile, 'a');
  if (owner !== undefined) chownSync(logFile, owner.uid, owner.gid);
  try {
    // detached: the server leads its own process group, so stop() can take every backend with it.
    return spawn(join(PG_BIN_DIR, 'postgres'), args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      cwd: dir,
      env: { ...process.env, LC_ALL: 'C' },
      ...(owner ?? {}),
    });
  } finally {
    closeSync(fd);
  }
}

/** Kills the server's group once this process is gone, however it died (no orphaned postmasters). */
function startWatchdog(serverPid: number): number | undefined {
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -INT -- "-$2" 2>/dev/null; sleep 5; kill -KILL -- "-$2" 2>/dev/null; exit 0';
  const child = spawn('bash', ['-c', script, 'watchdog', String(process.pid), String(serverPid)], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid;
}

async function waitReady(connection: PostgresConnection, exited: Promise<void>, timeoutMs: number): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (gone) throw new Error('the server exited during startup');
    const client = new pg.Client({ ...connection, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (err) {
      last = err;
    } finally {
      await client.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${(last as Error | undefined)?.message ?? 'no attempt'}`);
}

/** Direct children of `pid` (backends, checkpointer, walwriter …). */
export function childPids(pid: number): number[] {
  const out = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
