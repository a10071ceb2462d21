// One cluster's human roles against its master: read pg_authid, plan (pure), execute. No Kubernetes
// here, so the benchmark drives exactly what the function runs.
import { executePlan, readRoles, Sessions, type ConnectionConfig, type ExecuteOptions, type ExecutionResult } from '@pgfn/roles';
import { planTeamRoles, type TeamPlan, type TeamPlanInput } from './team-plan.js';

export interface ApplyReport {
  readonly plan: TeamPlan;
  readonly execution: ExecutionResult;
  readonly readMs: number;
  readonly planMs: number;
}

export async function applyTeamRoles(
  connection: ConnectionConfig,
  input: Omit<TeamPlanInput, 'current'>,
  options: ExecuteOptions = {},
): Promise<ApplyReport> {
  const now = options.now ?? (() => performance.now());
  const sessions = new Sessions({ applicationName: 'pgfn-team-role-sync', ...connection });
  try {
    const t0 = now();
    const current = await readRoles(await sessions.client());
    const t1 = now();
    const plan = planTeamRoles({ ...input, current });
    const t2 = now();
    const execution = await executePlan(sessions, plan.statements, options);
    return { plan, execution, readMs: t1 - t0, planMs: t2 - t1 };
  } finally {
    await sessions.close();
  }
}
