// The Grafana dashboard's queries, with its variables filled in, for tests that run them.

export interface PanelQuery {
  readonly panel: string;
  readonly expr: string;
}

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
