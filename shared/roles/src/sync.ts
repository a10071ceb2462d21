// One sync against the master: read the catalogs, plan, execute. The caller has settled the
// credentials (and written the Secrets) before, and found the master (see pickMaster).
import { randomBytes } from 'node:crypto';
import { Sessions, type ConnectionConfig } from './connection.js';
import { executePlan, type ExecuteOptions, type ExecutionResult } from './executor.js';
import type { CurrentState, DesiredState, Plan } from './model.js';
import type { RandomBytes } from './password-hash.js';
import { planSync } from './plan.js';
import { readCurrentState } from './reader.js';

export interface SyncOptions extends ExecuteOptions {
  /** Salt source for SCRAM hashes. Default crypto.randomBytes. */
  readonly random?: RandomBytes;
  /** Plan only; nothing is executed. */
  readonly dryRun?: boolean;
}

export interface SyncReport {
  readonly plan: Plan;
  /** Undefined for a dry run. */
  readonly execution?: ExecutionResult;
  readonly readMs: number;
  readonly planMs: number;
  /** Statements per kind, for logs and figures. */
  readonly counts: Readonly<Record<string, number>>;
}

export async function syncRolesAndDatabases(
  connection: ConnectionConfig,
  desired: DesiredState,
  options: SyncOptions = {},
): Promise<SyncReport> {
  const now = options.now ?? Date.now;
  const sessions = new Sessions(connection);
  try {
    const t0 = now();
    const current: CurrentState = await readCurrentState(sessions, desired, options);
    const t1 = now();
    const plan = planSync(desired, current, options.random ?? ((n) => randomBytes(n)));
    const t2 = now();
    const counts = countByKind(plan);
    if (options.dryRun === true) return { plan, readMs: t1 - t0, planMs: t2 - t1, counts };
    // Changing the password of the user we connect as (its Secret changed) must not lock us out of
    // the databases still to visit.
    const ownPassword = desired.roles.find((r) => r.name === connection.user)?.password;
    const execution = await executePlan(sessions, plan.statements, {
      ...options,
      onProgress: (event) => {
        if (event.outcome === 'done' && ownPassword !== undefined && event.statement.setsPasswordOf === connection.user)
          sessions.usePassword(ownPassword);
        options.onProgress?.(event);
      },
    });
    return { plan, execution, readMs: t1 - t0, planMs: t2 - t1, counts };
  } finally {
    await sessions.close();
  }
}

export function countByKind(plan: Plan): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of plan.statements) counts[s.kind] = (counts[s.kind] ?? 0) + 1;
  return counts;
}
