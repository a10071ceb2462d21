import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parse, parseAllDocuments } from 'yaml';
import { binaries, kubectlRun, repoRoot } from '@pgfn/controlplane';
import { monitoringBinary } from '@pgfn/observe';
import { testEnv } from '../support/env.js';

const run = promisify(execFile);
const MONITORING = join(repoRoot, 'monitoring');
const OPERATOR_CRDS = join(repoRoot, 'test/monitoring/fixtures/prometheus-operator-crds.yaml');

describe('monitoring: alert rules and the Prometheus Operator manifests', function () {
  this.timeout(120_000);

  it('passes promtool check rules and its unit tests (promtool test rules)', async () => {
    const promtool = monitoringBinary('promtool');
    const check = await run(promtool, ['check', 'rules', join(MONITORING, 'rules/pgfn.rules.yaml')]);
    expect(check.stdout).to.match(/SUCCESS: 13 rules found/);
    const tested = await run(promtool, ['test', 'rules', 'pgfn.rules.test.yaml'], { cwd: join(MONITORING, 'rules') });
    expect(tested.stdout).to.include('SUCCESS');
  });

  it('covers every alert the issue asks for, each with a unit test', () => {
    const rules = parse(readFileSync(join(MONITORING, 'rules/pgfn.rules.yaml'), 'utf8')) as RuleFile;
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).to.include.members([
      'PgfnClusterNotRunning',
      'PgfnClusterNoMaster',
      'PgfnClusterSplitBrain',
      'PgfnClusterFailover',
      'PgfnReplicationLag',
      'PgfnRolloutStuck',
      'PgfnBackupNotVerified',
      'PgfnBackupFailed',
      'PgfnFunctionErrors',
    ]);
    const tests = readFileSync(join(MONITORING, 'rules/pgfn.rules.test.yaml'), 'utf8');
    for (const alert of alerts) expect(tests, `a unit test for ${alert}`).to.match(new RegExp(`alertname: ${alert}\\b[^]*exp_labels`));
  });

  it('ships the same groups in the PrometheusRule as in the rule file', () => {
    const rules = parse(readFileSync(join(MONITORING, 'rules/pgfn.rules.yaml'), 'utf8')) as RuleFile;
    const resource = parse(readFileSync(join(MONITORING, 'prometheusrule.yaml'), 'utf8')) as { spec: RuleFile };
    expect(resource.spec).to.deep.equal(rules);
  });

  it('applies the monitoring/ kustomization in a server-side dry run against the Prometheus Operator CRDs', async () => {
    const { kubeconfig } = testEnv();
    const { kubectl } = binaries();
    await kubectlRun(kubectl, kubeconfig, ['apply', '--server-side', '--field-manager=pgfn-test', '-f', OPERATOR_CRDS]);
    for (const crd of ['podmonitors', 'servicemonitors', 'prometheusrules']) {
      await kubectlRun(kubectl, kubeconfig, ['wait', '--for=condition=Established', `crd/${crd}.monitoring.coreos.com`, '--timeout=30s']);
    }
    await kubectlRun(kubectl, kubeconfig, ['create', 'namespace', 'pgfn-system']).catch(() => '');
    const built = await kubectlRun(kubectl, kubeconfig, ['kustomize', MONITORING]);
    const kinds = parseAllDocuments(built).map((d) => (d.toJS() as { kind: string }).kind);
    expect(kinds.sort()).to.deep.equal(['ConfigMap', 'PodMonitor', 'PodMonitor', 'PrometheusRule', 'ServiceMonitor']);
    const out = await kubectlRun(
      kubectl,
      kubeconfig,
      ['apply', '--server-side', '--dry-run=server', '--validate=strict', '--field-manager=pgfn', '-f', '-'],
      built,
    );
    expect(out).to.match(/podmonitor.monitoring.coreos.com\/pgfn-postgres-exporter serverside-applied \(server dry run\)/);
    expect(out).to.match(/prometheusrule.monitoring.coreos.com\/pgfn serverside-applied \(server dry run\)/);
    // The dry run does reject what the CRDs do not allow: a misspelt field.
    const broken = built.replace('podMetricsEndpoints:', 'podMetricEndpoints:');
    const refused = await kubectlRun(
      kubectl,
      kubeconfig,
      ['apply', '--server-side', '--dry-run=server', '--validate=strict', '-f', '-'],
      broken,
    ).then(
      () => '',
      (err: Error) => err.message,
    );
    expect(refused).to.match(/podMetricEndpoints/);
  });
});

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}
