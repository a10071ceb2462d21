import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace, statusOf } from '../support/kube.js';
import { example, onKwok, requestEvent, resourceEvent, startReconcile, type RunningReconcile } from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

describe('reconcile: pod environment from the ConfigMap and Secret the configuration names', function () {
  this.timeout(120_000);
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let custom: k8s.CustomObjectsApi;
  let fn: RunningReconcile;
  let ns: { name: string; cleanup: () => Promise<void> };

  before(async () => {
    kc = adminConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'podenv');
    fn = await startReconcile(kc, ns.name, {
      ...DEFAULT_OPERATOR_CONFIG,
      podEnvironmentConfigmap: { namespace: '', name: 'pod-env' },
      podEnvironmentSecret: 'pod-env-secret',
    });
  });
  after(async () => {
    await fn.stop();
    await ns.cleanup();
  });

  it('builds nothing while a configured source is missing, says which on the status and in a Warning Event', async () => {
    const pg = (await custom.createNamespacedCustomObject({
      ...PG,
      namespace: ns.name,
      body: onKwok(example('minimal.yaml', ns.name, 'acid-env')),
    })) as Cluster;
    expect((await fn.post(resourceEvent('add', pg))).status).to.equal(503);
    const status = ((await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-env' })) as Cluster).status;
    expect(status?.PostgresClusterStatus).to.equal('CreateFailed');
    const message = status?.conditions?.find((c) => c.type === 'Synced')?.message;
    expect(message).to.match(/pod_environment_configmap .*\/pod-env is configured but does not exist/);
    expect(message).to.match(/pod_environment_secret .*\/pod-env-secret is configured but does not exist/);
    const events = (await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: 'involvedObject.name=acid-env' })).items;
    expect(events.some((e) => e.type === 'Warning' && e.reason === 'SyncFailed' && /pod-env/.test(e.message ?? ''))).to.equal(true);
    const sts = await apps.readNamespacedStatefulSet({ namespace: ns.name, name: 'acid-env' }).then(
      () => 200,
      (e: unknown) => statusOf(e),
    );
    expect(sts).to.equal(404);
  });

  it("passes the ConfigMap's values and the Secret's keys to the Spilo container once both exist", async () => {
    await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: { metadata: { name: 'pod-env' }, data: { WAL_S3_BUCKET: 'backups', CUSTOM_FLAG: 'on' } },
    });
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: 'pod-env-secret' }, stringData: { AWS_SECRET_ACCESS_KEY: 'not-logged' } },
    });
    expect((await fn.post(requestEvent(ns.name, 'acid-env'))).status).to.equal(200);
    const sts = await apps.readNamespacedStatefulSet({ namespace: ns.name, name: 'acid-env' });
    const env = sts.spec?.template.spec?.containers.find((c) => c.name === 'postgres')?.env ?? [];
    expect(env.find((e) => e.name === 'CUSTOM_FLAG')?.value).to.equal('on');
    expect(env.find((e) => e.name === 'WAL_S3_BUCKET')?.value).to.equal('backups');
    expect(env.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY')?.valueFrom?.secretKeyRef).to.deep.include({
      name: 'pod-env-secret',
      key: 'AWS_SECRET_ACCESS_KEY',
    });
    const status = ((await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-env' })) as Cluster).status;
    expect(status?.conditions?.find((c) => c.type === 'Synced')?.status).to.equal('True');
  });
});
