import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import type { Postgresql } from '@pgfn/api';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { example, onKwok, requestEvent, resourceEvent, startReconcile, type RunningReconcile } from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

describe('reconcile: two instances handling the same cluster at the same moment', function () {
  this.timeout(180_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let a: RunningReconcile;
  let b: RunningReconcile;

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'reconcile-race');
    [a, b] = await Promise.all([startReconcile(kc, ns.name), startReconcile(kc, ns.name)]);
  });
  after(async () => {
    await Promise.all([a.stop(), b.stop()]);
    await ns.cleanup();
  });

  it('converges to the latest spec with one password per user, however the writes interleave', async () => {
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    await custom.createNamespacedCustomObject({ ...PG, namespace: ns.name, body: onKwok(example('minimal.yaml', ns.name, 'acid-race')) });
    const statuses: number[] = [];
    let last: Cluster | undefined;
    for (let round = 1; round <= 6; round++) {
      const cur = (await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-race' })) as Cluster;
      const users = { ...cur.spec.users, [`app_user_${round}`]: [] };
      const next = (await custom.replaceNamespacedCustomObject({
        ...PG,
        namespace: ns.name,
        name: 'acid-race',
        body: { ...cur, spec: { ...cur.spec, users, numberOfInstances: 1 + (round % 3) } },
      })) as Cluster;
      last = next;
      const rs = await Promise.all([
        a.post(resourceEvent('update', next)),
        b.post(resourceEvent('update', next)),
        a.post(resourceEvent('update', next)),
      ]);
      statuses.push(...rs.map((r) => r.status));
    }
    // A lost race is a 503 (redelivered by the Broker), never a 4xx or a crash.
    expect(
      statuses.every((s) => s === 200 || s === 503),
      statuses.join(','),
    ).to.equal(true);
    // The Broker's redelivery of the last edit's event, played once more after the storm.
    expect((await a.post(resourceEvent('update', last as Cluster))).status).to.equal(200);
    const final = (await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-race' })) as Cluster;

    const sts = await apps.readNamespacedStatefulSet({ namespace: ns.name, name: 'acid-race' });
    expect(sts.spec?.replicas).to.equal(final.spec.numberOfInstances);
    const secrets = (await core.listNamespacedSecret({ namespace: ns.name, labelSelector: 'cluster-name=acid-race' })).items;
    for (let round = 1; round <= 6; round++) {
      expect(
        secrets.filter((s) => s.metadata?.name === `app-user-${round}.acid-race.credentials.postgresql.acid.zalan.do`),
        `user ${round}`,
      ).to.have.length(1);
    }
    const passwords = new Map(secrets.map((s) => [s.metadata?.name, s.data?.['password']]));
    const after = (await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-race' })) as Cluster;
    expect(after.status?.observedGeneration).to.equal(after.metadata?.generation);
    // Once settled, more events change nothing: no password is regenerated.
    b.requests.reset();
    await Promise.all([a.post(requestEvent(ns.name, 'acid-race')), b.post(requestEvent(ns.name, 'acid-race'))]);
    const again = (await core.listNamespacedSecret({ namespace: ns.name, labelSelector: 'cluster-name=acid-race' })).items;
    expect(new Map(again.map((s) => [s.metadata?.name, s.data?.['password']]))).to.deep.equal(passwords);
  });
});
