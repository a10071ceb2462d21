// The Grafana dashboard's queries, with its variables filled in, for tests that run them.

export interface PanelQuery {
  readonly panel: string;
  readonly expr: string;
}

/**
 * Metrics whose producer is not on this branch yet: rolling-update does not set the kit's
 * pgfn_rollouts_in_progress, and backup-verify (which exports the pgfn_backup_* metrics) is still in review.
 */
export const PENDING_PRODUCERS: readonly { metric: string; producer: string }[] = [
  { metric: 'pgfn_rollouts_in_progress', producer: 'rolling-update' },
  { metric: 'pgfn_backup_', producer: 'backup-verify' },
];

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

export function dashboardQueries(dashboard: unknown, vars: Readonly<Record<string, string>>): PanelQuery[] {
  const panels = (dashboard as { panels: Panel[] }).panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const fill = (expr: string): string => expr.replace(/\$(\w+)/g, (m, name: string) => vars[name] ?? m);
  return panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: fill(t.expr) })));
}
