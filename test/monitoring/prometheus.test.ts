import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { HTTP } from 'cloudevents';
import type { Server } from 'node:http';
import { DEFAULT_OPERATOR_CONFIG } from '@pgfn/api';
import { repoRoot, S3Server } from '@pgfn/controlplane';
import { createKit, startFunction } from '@pgfn/fn-runtime';
import { Prometheus, startExporter, type RunningExporter } from '@pgfn/observe';
import { startPostgres, testPostgres, type RunningPostgres } from '@pgfn/testpg';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { testEnv } from '../support/env.js';
import { resourceEvent, startReconcile, type RunningReconcile } from '../reconcile/support.js';
import { createHandler as helloHandler } from '../../functions/hello-cluster/src/handler.js';
import { runningKwokCluster, startUi, type RunningUi } from './support.js';
import { dashboardQueries } from './dashboard.js';
import { segmentNames, startSubscriber, startVerify, writeWalgArchive, type RunningVerify } from '../backup-verify/support.js';

const CLUSTER = 'acid-mon';
const WAL_BUCKET = 'pgfn-wal';
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

/**
 * A real Prometheus (Debian's 2.42) scraping through file-based discovery: two functions (reconcile, whose
 * handler drives the cluster to Running, and hello-cluster wired by the kit exactly as its main.ts does),
 * the UI's fleet metrics, and two postgres_exporter processes
 * with the sidecar's queries. The exporters stand in for the sidecars of the cluster's two pods, which
 * run on kwok here: acid-mon-0's is the test run's real PostgreSQL, acid-mon-1's a second real
 * PostgreSQL this test starts and then stops ("a replica stops"), which must fire PgfnPostgresDown.
 * backup-verify (scraped too) reads the cluster's archive in a real S3 server, written in WAL-G's layout
 * (the one allowed fixture, see test/backup-verify/walg-fixture.ts; no restore test): verified first,
 * then made too old, which must fire PgfnBackupNotVerified and PgfnBackupFailed.
 */
describe('monitoring: a real Prometheus scrapes the functions, the fleet metrics and postgres_exporter', function () {
  this.timeout(300_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let reconcile: RunningReconcile;
  let ui: RunningUi;
  let replica: RunningPostgres;
  let exporters: RunningExporter[] = [];
  let prom: Prometheus;
  let hello: { server: Server; url: string };
  let s3: S3Server;
  let verify: RunningVerify;
  let subscriber: Awaited<ReturnType<typeof startSubscriber>>;
  let walPrefix: string;
  const verifyNow = async (): Promise<{ status: string; reason?: string } | undefined> => {
    expect(await verify.post({ type: 'dev.pgfn.backup.verify.requested', source: 'test', subject: `${ns.name}/${CLUSTER}` })).to.equal(200);
    const c = (await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...PG, namespace: ns.name, name: CLUSTER })) as {
      status?: { conditions?: { type: string; status: string; reason?: string }[] };
    };
    return c.status?.conditions?.find((x) => x.type === 'BackupVerified');
  };
  const firing = (name: string, timeoutMs = 90_000) =>
    eventually(
      `${name} firing`,
      async () => {
        const alerts = (await prom.alerts()).filter((a) => a.labels['alertname'] === name && a.state === 'firing');
        return alerts.length > 0 ? alerts.map((a) => a.labels) : undefined;
      },
      timeoutMs,
      1000,
    );

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'monitoring');
    reconcile = await startReconcile(kc, ns.name);
    const cluster = await runningKwokCluster({ kc, reconcile, namespace: ns.name, name: CLUSTER });
    ui = await startUi({ readConfig: kc, namespace: ns.name });
    const kit = createKit('hello-cluster', { KUBECONFIG: testEnv().kubeconfig, LOG_LEVEL: 'silent' });
    hello = await startFunction({ fn: kit.fn, handle: helloHandler(kit), log: kit.log, metrics: kit.metrics, port: 0, host: '127.0.0.1' });
    const greet = HTTP.binary(resourceEvent('add', { ...cluster, kind: 'postgresql' }));
    const res = await fetch(hello.url, { method: 'POST', headers: greet.headers as Record<string, string>, body: greet.body as string });
    expect(res.status, 'hello-cluster handled the event').to.equal(200);
    s3 = await S3Server.start({ buckets: [WAL_BUCKET] });
    walPrefix = `spilo/${CLUSTER}/${cluster.metadata?.uid ?? ''}/wal/${cluster.spec.postgresql.version}`;
    await writeWalgArchive({ s3, bucket: WAL_BUCKET, prefix: walPrefix, segments: segmentNames(0x20, 8), ageSeconds: 3600 });
    subscriber = await startSubscriber();
    verify = await startVerify({
      s3,
      config: { ...structuredClone(DEFAULT_OPERATOR_CONFIG), walS3Bucket: WAL_BUCKET },
      sink: subscriber.url,
      policy: { restoreTest: false },
    });
    expect(await verifyNow(), 'the healthy archive verifies').to.include({ status: 'True', reason: 'Verified' });
    const dir = mkdtempSync(join(tmpdir(), 'pgfn-prometheus-'));
    replica = await startPostgres();
    const primary = testPostgres();
    exporters = await Promise.all(
      [primary, replica].map((pg, i) =>
        startExporter({ name: `${CLUSTER}-${i}`, logDir: dir, host: pg.host, port: pg.port, user: pg.user, password: pg.password }),
      ),
    );
    prom = await Prometheus.start({ dir, ruleFiles: [join(repoRoot, 'monitoring/rules/pgfn.rules.yaml')] });
    const host = (url: string): string => new URL(url).host;
    prom.setTargets('functions', [
      { address: host(reconcile.url), labels: { job: 'pgfn-functions', function: 'reconcile' } },
      { address: host(hello.url), labels: { job: 'pgfn-functions', function: 'hello-cluster' } },
      { address: host(verify.url), labels: { job: 'pgfn-functions', function: 'backup-verify' } },
    ]);
    prom.setTargets('ui', [{ address: host(ui.url), labels: { job: 'pgfn-ui' } }]);
    prom.setTargets(
      'exporters',
      exporters.map((e, i) => ({
        address: e.address,
        labels: {
          job: 'pgfn-postgres-exporter',
          namespace: ns.name,
          cluster: CLUSTER,
          pod: `${CLUSTER}-${i}`,
          role: i === 0 ? 'master' : 'replica',
        },
      })),
    );
  });
  after(async () => {
    await prom?.stop();
    await Promise.all(exporters.map((e) => e.stop()));
    await replica?.stop();
    await ui?.stop();
    // A before hook that failed early started no hello function: nothing to close (and no close callback).
    if (hello !== undefined) await new Promise((r) => hello?.server.close(r));
    await verify?.stop();
    await subscriber?.stop();
    await reconcile?.stop();
    await ns?.cleanup();
    await s3?.stop();
  });

  it('scrapes every target healthy (figures: scrape duration and series per target)', async () => {
    const targets = await eventually(
      'six healthy targets',
      async () => {
        const t = await prom.targets();
        return t.length === 6 && t.every((x) => x.health === 'up') ? t : undefined;
      },
      60_000,
      500,
    );
    const series = await prom.query('scrape_samples_scraped');
    const figures = targets.map((t) => ({
      target: t.labels['function'] ?? t.labels['pod'] ?? t.labels['job'] ?? '?',
      job: t.labels['job'],
      scrapeMs: Number((t.lastScrapeDuration * 1000).toFixed(1)),
      series: Number(series.find((s) => s.metric['instance'] === t.labels['instance'])?.value[1] ?? NaN),
    }));
    for (const f of figures) expect(f.series, `${f.target} exposes series`).to.be.greaterThan(10);
    console.table(figures);
    mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
    writeFileSync(join(repoRoot, 'bench/results/monitoring-scrape.json'), `${JSON.stringify(figures, null, 2)}\n`);
  });

  it('has the documented metrics with their labels', async () => {
    const one = async (promql: string): Promise<Record<string, string>[]> =>
      eventually(promql, async () => {
        const r = await prom.query(promql);
        return r.length > 0 ? r.map((s) => s.metric) : undefined;
      });
    expect(await one('pgfn_cold_starts_total{fn="reconcile-test"}')).to.have.length(1);
    expect(await one('pgfn_events_total{fn="reconcile-test"}')).to.satisfy((ms: Record<string, string>[]) =>
      ms.some((m) => m['type'] !== undefined && m['outcome'] === 'ok'),
    );
    expect(await one('pgfn_handler_duration_seconds_count{fn="reconcile-test"}')).to.not.be.empty;
    // hello-cluster runs on the kit's own KubeClient, which counts its requests.
    expect(await one('pgfn_kube_api_requests_total{fn="hello-cluster", verb="get", kind="postgresql"}')).to.have.length(1);
    expect(await one('pgfn_events_total{fn="hello-cluster", type="dev.knative.apiserver.resource.add", outcome="ok"}')).to.have.length(1);
    expect(await one('pgfn_cold_start_seconds{fn="hello-cluster"}')).to.have.length(1);
    const info = await one(`pgfn_cluster_info{namespace="${ns.name}"}`);
    expect(info[0]).to.include({ cluster: CLUSTER, status: 'Running', team: 'acid' });
    expect((await prom.query(`pgfn_cluster_masters{cluster="${CLUSTER}"}`))[0]?.value[1]).to.equal('1');
    expect(await one(`pgfn_cluster_master_info{cluster="${CLUSTER}"}`)).to.deep.include({
      __name__: 'pgfn_cluster_master_info',
      cluster: CLUSTER,
      namespace: ns.name,
      pod: `${CLUSTER}-0`,
      fn: 'ui',
      instance: new URL(ui.url).host,
      job: 'pgfn-ui',
    });
    expect(await one(`pgfn_cluster_condition{cluster="${CLUSTER}", type="PodsReady", status="True"}`)).to.have.length(1);
    expect((await one('pg_up')).map((m) => m['pod']).sort()).to.deep.equal([`${CLUSTER}-0`, `${CLUSTER}-1`]);
    for (const metric of ['pg_replication_lag_seconds', 'pg_replication_is_replica', 'pg_connections_count', 'pg_connections_max']) {
      expect(await one(metric), metric).to.have.length.greaterThan(0);
    }
    expect((await one('pg_wraparound_age_xids')).map((m) => m['datname'])).to.include('postgres');
    expect(await one('pg_archiver_failed_count')).to.have.length(2);
    expect(await one(`pgfn_backup_age_seconds{namespace="${ns.name}", cluster="${CLUSTER}", fn="backup-verify"}`)).to.have.length(1);
    expect(await one('pgfn_backup_verifications_total{fn="backup-verify", outcome="verified", reason="Verified"}')).to.have.length(1);
    expect(await one('pgfn_backup_verify_duration_seconds_count{fn="backup-verify", outcome="verified"}')).to.have.length(1);
    expect((await prom.query(`pgfn_rollouts_in_progress{cluster="${CLUSTER}"}`))[0]?.value[1], 'no rollout yet').to.equal('0');
  });

  it('fires PgfnPostgresDown when a replica stops', async () => {
    expect((await prom.alerts()).filter((a) => a.labels['alertname'] === 'PgfnPostgresDown')).to.deep.equal([]);
    await replica.stop();
    const firing = await eventually(
      'PgfnPostgresDown firing',
      async () => {
        const alerts = (await prom.alerts()).filter((a) => a.labels['alertname'] === 'PgfnPostgresDown' && a.state === 'firing');
        return alerts.length > 0 ? alerts : undefined;
      },
      150_000,
      2000,
    );
    expect(firing.map((a) => a.labels)).to.deep.equal([
      {
        alertname: 'PgfnPostgresDown',
        severity: 'critical',
        namespace: ns.name,
        cluster: CLUSTER,
        pod: `${CLUSTER}-1`,
        role: 'replica',
        instance: exporters[1]?.address ?? '',
        job: 'pgfn-postgres-exporter',
      },
    ]);
  });

  it('fires PgfnClusterSplitBrain when a second pod claims master, and PgfnClusterFailover once the old master steps down', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const relabel = (pod: string, role: string) =>
      core.patchNamespacedPod(
        { namespace: ns.name, name: pod, body: { metadata: { labels: { 'spilo-role': role } } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    expect((await prom.alerts()).filter((a) => /SplitBrain|Failover/.test(a.labels['alertname'] ?? ''))).to.deep.equal([]);
    await relabel(`${CLUSTER}-1`, 'master');
    expect(await firing('PgfnClusterSplitBrain')).to.deep.equal([
      {
        alertname: 'PgfnClusterSplitBrain',
        severity: 'critical',
        namespace: ns.name,
        cluster: CLUSTER,
        fn: 'ui',
        instance: new URL(ui.url).host,
        job: 'pgfn-ui',
      },
    ]);
    await relabel(`${CLUSTER}-0`, 'replica');
    expect(await firing('PgfnClusterFailover')).to.deep.equal([
      { alertname: 'PgfnClusterFailover', severity: 'info', namespace: ns.name, cluster: CLUSTER },
    ]);
  });

  it('counts a rollout in progress from the RollingUpdate condition (PgfnRolloutStuck pending) once the image changes', async () => {
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const updated = (await custom.patchNamespacedCustomObject(
      { ...PG, namespace: ns.name, name: CLUSTER, body: { spec: { dockerImage: 'ghcr.io/zalando/spilo-17:4.0-p9' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    )) as k8s.KubernetesObject;
    // No rolling-update function runs here: the pods stay marked, the condition stays True.
    expect((await reconcile.post(resourceEvent('update', updated))).status).to.equal(200);
    await eventually(
      'pgfn_rollouts_in_progress at 1',
      async () => ((await prom.query(`pgfn_rollouts_in_progress{cluster="${CLUSTER}"} == 1`)).length === 1 ? true : undefined),
      60_000,
      1000,
    );
    const pending = await eventually(
      'PgfnRolloutStuck pending',
      async () => {
        const alerts = (await prom.alerts()).filter((a) => a.labels['alertname'] === 'PgfnRolloutStuck');
        return alerts.length > 0 ? alerts : undefined;
      },
      60_000,
      1000,
    );
    // `for: 30m`: pending, not firing, within a test.
    expect(pending.map((a) => [a.state, a.labels['namespace'], a.labels['cluster']])).to.deep.equal([['pending', ns.name, CLUSTER]]);
  });

  it("answers every dashboard panel's query with series, the backup and rollout panels included", async () => {
    const dashboard = JSON.parse(readFileSync(join(repoRoot, 'monitoring/grafana/pgfn-clusters.json'), 'utf8')) as unknown;
    const queries = dashboardQueries(dashboard, { namespace: ns.name, cluster: CLUSTER });
    const empty: string[] = [];
    for (const q of queries) {
      const result = await prom.query(q.expr);
      if (result.length === 0) empty.push(`${q.panel}: ${q.expr}`);
    }
    expect(empty, 'panels without series').to.deep.equal([]);
    expect(queries.map((q) => q.panel)).to.include.members([
      'Rollouts in progress',
      'Oldest verified backups',
      'Backup verifications by outcome',
      'Backup age',
      'Backup verification p95',
      'Last backup verification',
    ]);
  });

  it('fires PgfnBackupNotVerified and PgfnBackupFailed when the newest base backup is too old', async () => {
    expect((await prom.alerts()).filter((a) => /PgfnBackup/.test(a.labels['alertname'] ?? ''))).to.deep.equal([]);
    // The same backup, now finished two days ago: older than the policy's 26 h.
    await writeWalgArchive({ s3, bucket: WAL_BUCKET, prefix: walPrefix, segments: segmentNames(0x20, 8), ageSeconds: 48 * 3600 });
    expect(await verifyNow()).to.include({ status: 'False', reason: 'BackupTooOld' });
    expect(await firing('PgfnBackupFailed')).to.deep.equal([
      {
        alertname: 'PgfnBackupFailed',
        severity: 'critical',
        namespace: ns.name,
        cluster: CLUSTER,
        type: 'BackupVerified',
        status: 'False',
        fn: 'ui',
        instance: new URL(ui.url).host,
        job: 'pgfn-ui',
      },
    ]);
    expect(await firing('PgfnBackupNotVerified')).to.deep.equal([
      { alertname: 'PgfnBackupNotVerified', severity: 'warning', namespace: ns.name, cluster: CLUSTER },
    ]);
    const failed = await eventually('a failed verification counted', async () => {
      const r = await prom.query('pgfn_backup_verifications_total{fn="backup-verify", outcome="failed", reason="BackupTooOld"}');
      return r.length === 1 ? r : undefined;
    });
    expect(failed[0]?.value[1]).to.equal('1');
  });
});
