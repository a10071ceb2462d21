import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { example, onKwok, pingEvent, resourceEvent, startReconcile, type RunningReconcile } from './support.js';

const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
type Namespace = { name: string; cleanup: () => Promise<void> };

// A user `<namespace>.user` keeps its Secret in that other namespace (enable_cross_namespace_secret);
// the batched read must see it there, or every resync "creates" it again.
describe('reconcile: cross-namespace credentials Secrets (real control plane)', function () {
  this.timeout(180_000);
  let core: k8s.CoreV1Api;
  let home: Namespace;
  let other: Namespace;
  let fn: RunningReconcile;

  before(async () => {
    const kc = adminConfig();
    await ensureCrds(kc);
    core = kc.makeApiClient(k8s.CoreV1Api);
    home = await createNamespace(kc, 'xns-home');
    other = await createNamespace(kc, 'xns-other');
    fn = await startReconcile(kc, home.name, { ...DEFAULT_OPERATOR_CONFIG, enableCrossNamespaceSecret: true });
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    for (const name of ['acid-x1', 'acid-x2']) {
      const pg = onKwok(example('minimal.yaml', home.name, name));
      const body: Postgresql = { ...pg, spec: { ...pg.spec, users: { ...pg.spec.users, [`${other.name}.app_user`]: [] } } };
      const created: unknown = await custom.createNamespacedCustomObject({ ...PG, namespace: home.name, body });
      expect((await fn.post(resourceEvent('add', created as never))).status).to.equal(200);
    }
  });
  after(async () => {
    await fn.stop();
    await home.cleanup();
    await other.cleanup();
  });

  const secretOf = (cluster: string): Promise<k8s.V1Secret> =>
    core.readNamespacedSecret({ namespace: other.name, name: `${other.name}.app-user.${cluster}.credentials.postgresql.acid.zalan.do` });

  it('creates the Secret in the other namespace, without an owner reference', async () => {
    const secret = await secretOf('acid-x1');
    expect(Buffer.from(secret.data?.['username'] ?? '', 'base64').toString()).to.equal(`${other.name}.app_user`);
    expect(secret.metadata?.ownerReferences ?? []).to.deep.equal([]);
  });

  it('a resync of the unchanged clusters writes nothing and keeps the passwords', async () => {
    const before = (await secretOf('acid-x2')).data?.['password'];
    await fn.post(pingEvent());
    await fn.post(pingEvent());
    fn.requests.reset();
    expect((await fn.post(pingEvent())).status).to.equal(200);
    expect(fn.requests.writes(), JSON.stringify([...fn.requests.counts])).to.equal(0);
    expect((await secretOf('acid-x2')).data?.['password']).to.equal(before);
  });
});
