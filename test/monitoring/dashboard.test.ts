import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '@pgfn/controlplane';
import { dashboardQueries } from './dashboard.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { type: string } }[];
}

/**
 * Grafana cannot run here, so the dashboard is checked against the parts of Grafana's dashboard schema
 * (schemaVersion 39) it uses; prometheus.test.ts runs every panel's query against a real Prometheus.
 */
describe('monitoring: the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(repoRoot, 'monitoring/grafana/pgfn-clusters.json'), 'utf8')) as {
    title: string;
    uid: string;
    schemaVersion: number;
    panels: Panel[];
    templating: { list: { name: string; type: string; query: unknown }[] };
  };

  it('has the dashboard fields Grafana requires, unique panel ids and a grid that fits 24 columns without overlaps', () => {
    expect(dashboard).to.include({ title: 'pgfn: PostgreSQL clusters', uid: 'pgfn-clusters' });
    expect(dashboard.schemaVersion).to.be.within(36, 41);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).to.equal(ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      expect(['row', 'stat', 'table', 'timeseries', 'piechart'], p.title).to.include(p.type);
      expect(p.gridPos.x + p.gridPos.w, `${p.title} fits`).to.be.at.most(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).to.equal(false);
          cells.add(`${x},${y}`);
        }
      if (p.type === 'row') continue;
      expect(p.datasource, p.title).to.deep.equal({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets, p.title).to.have.length.greaterThan(0);
      expect(new Set(p.targets?.map((t) => t.refId)).size, `${p.title} refIds unique`).to.equal(p.targets?.length);
    }
  });

  it('has a fleet row and a per-cluster row driven by namespace and cluster variables', () => {
    expect(dashboard.templating.list.map((v) => [v.name, v.type])).to.deep.equal([
      ['datasource', 'datasource'],
      ['namespace', 'query'],
      ['cluster', 'query'],
    ]);
    expect(dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title)).to.deep.equal(['Fleet', 'Cluster $namespace/$cluster']);
    const perCluster = dashboardQueries(dashboard, {}).filter((q) => q.expr.includes('$cluster'));
    expect(perCluster.length).to.be.greaterThan(8);
    for (const q of perCluster) expect(q.expr, q.panel).to.include('namespace="$namespace"');
  });

  it('shows the metrics the issue asks for', () => {
    const all = dashboardQueries(dashboard, {})
      .map((q) => q.expr)
      .join('\n');
    for (const metric of [
      'pgfn_events_total',
      'pgfn_handler_duration_seconds_bucket',
      'pgfn_kube_api_requests_total',
      'pgfn_cold_starts_total',
      'pgfn_clusters',
      'pgfn_rollouts_in_progress',
      'pgfn_backup_age_seconds',
      'pgfn_backup_verify_duration_seconds_bucket',
      'pg_replication_lag_seconds',
      'pg_connections_count',
      'pg_wraparound_fraction',
      'pg_archiver_failed_count',
    ])
      expect(all, metric).to.include(metric);
  });
});
