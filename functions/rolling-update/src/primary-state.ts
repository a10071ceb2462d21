// What the primary's own PostgreSQL says, read by exec'ing psql in its container as the postgres user
// (rolling-update has no database credentials): whether it has left recovery, and which backup history
// files its pg_wal holds. A base backup ends with pg_backup_stop, which writes a new history file on a
// primary, so a new name is proof that a backup was taken, whatever the backup script printed.
import type { PodExec } from '@pgfn/kube';

export interface PrimaryState {
  readonly inRecovery: boolean;
  /** Names of the backup history files (`<segment>.<offset>.backup`) in pg_wal. */
  readonly backupHistory: readonly string[];
}

const STATE_SQL =
  "SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN 't' ELSE 'f' END || '|' || " +
  "coalesce((SELECT string_agg(name, ' ' ORDER BY name) FROM pg_catalog.pg_ls_waldir() WHERE name LIKE '%.backup'), '')";

/** The psql command for one query, as the postgres user over the local socket. */
export function psqlAsPostgres(sql: string): string[] {
  return ['/bin/su', 'postgres', '-c', `psql -X -h /run/postgresql -d postgres -tAc "${sql}"`];
}

/** Parses STATE_SQL's one line (`t|` or `f|a.backup b.backup`); undefined when it is not that. */
export function parsePrimaryState(stdout: string): PrimaryState | undefined {
  const match = /^([tf])\|(.*)$/.exec(stdout.trim());
  if (match === null) return undefined;
  return { inRecovery: match[1] === 't', backupHistory: (match[2] ?? '').split(' ').filter((n) => n !== '') };
}

export async function readPrimaryState(exec: PodExec, pod: { namespace: string; name: string }): Promise<PrimaryState | undefined> {
  const ran = await exec({ namespace: pod.namespace, pod: pod.name, container: 'postgres', command: psqlAsPostgres(STATE_SQL) });
  return ran.exitCode === 0 ? parsePrimaryState(ran.stdout) : undefined;
}

/**
 * Polls until the primary has left recovery (a restarted primary is labelled master before its
 * PostgreSQL is promoted), at most `timeoutMs`. Returns its state then, or undefined on timeout.
 */
export async function waitWritable(
  exec: PodExec,
  pod: { namespace: string; name: string },
  o: { timeoutMs: number; intervalMs?: number },
): Promise<PrimaryState | undefined> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const state = await readPrimaryState(exec, pod).catch(() => undefined);
    if (state !== undefined && !state.inRecovery) return state;
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 1000));
  }
}
