import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import type { Postgresql } from '@pgfn/api';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { provisionVolumes } from '../support/volumes.js';
import { example, onKwok, requestEvent, resourceEvent, startReconcile, type RunningReconcile } from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const MARK = 'zalando-postgres-operator-rolling-update-required';
const DAY = 86_400_000;

describe('reconcile: in-place password rotation (real control plane, kwok pods, injected clock)', function () {
  this.timeout(180_000);
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let custom: k8s.CustomObjectsApi;
  let fn: RunningReconcile;
  let ns: { name: string; cleanup: () => Promise<void> };
  let clock = Date.parse('2026-11-22T10:00:00Z');

  before(async () => {
    kc = adminConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'rotation');
    fn = await startReconcile(kc, ns.name, undefined, { now: () => new Date(clock) });
  });
  after(async () => {
    await fn.stop();
    await ns.cleanup();
  });

  const secret = async (user: string, cluster: string): Promise<{ username: string; password: string; nextRotation: string }> => {
    const s = await core.readNamespacedSecret({
      namespace: ns.name,
      name: `${user.replace(/_/g, '-')}.${cluster}.credentials.postgresql.acid.zalan.do`,
    });
    const d = (k: string): string => Buffer.from(s.data?.[k] ?? '', 'base64').toString();
    return { username: d('username'), password: d('password'), nextRotation: d('nextRotation') };
  };
  const pods = async (cluster: string): Promise<k8s.V1Pod[]> =>
    (await core.listNamespacedPod({ namespace: ns.name, labelSelector: `cluster-name=${cluster},application=spilo` })).items;

  /** A running cluster whose listed users rotate in place. */
  const runningCluster = async (name: string, inPlace: string[], extra: Partial<Cluster['spec']> = {}): Promise<void> => {
    const base = onKwok(example('minimal.yaml', ns.name, name));
    const body = { ...base, spec: { ...base.spec, ...extra, usersWithInPlaceSecretRotation: inPlace } };
    const created = (await custom.createNamespacedCustomObject({ ...PG, namespace: ns.name, body })) as Cluster;
    expect((await fn.post(resourceEvent('add', created))).status).to.equal(200);
    await eventually(
      `${name}: 2 Running pods`,
      async () => {
        await provisionVolumes(kc, ns.name);
        const ps = await pods(name);
        return ps.length === 2 && ps.every((p) => p.status?.phase === 'Running') ? true : undefined;
      },
      60_000,
    );
    expect(
      (await pods(name)).some((p) => p.metadata?.annotations?.[MARK] !== undefined),
      'a new cluster marks nothing',
    ).to.equal(false);
  };

  it("marks every Spilo pod once the superuser's password is rotated in place, after writing the new password", async () => {
    await runningCluster('acid-rot-sys', ['postgres']);
    const before = await secret('postgres', 'acid-rot-sys');
    expect(before.nextRotation).to.not.equal('');
    fn.emitted.length = 0;
    clock += 91 * DAY;
    expect((await fn.post(requestEvent(ns.name, 'acid-rot-sys'))).status).to.equal(200);

    const after = await secret('postgres', 'acid-rot-sys');
    expect(after.username).to.equal('postgres');
    expect(after.password).to.not.equal(before.password);
    const marked = await pods('acid-rot-sys');
    expect(marked.map((p) => p.metadata?.annotations?.[MARK])).to.deep.equal(['true', 'true']);
    const request = fn.emitted.find((e) => e.type === 'dev.pgfn.rollingupdate.required');
    expect(request?.data['reasons']).to.deep.equal(['the password of system user postgres was rotated in place']);
    const status = ((await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-rot-sys' })) as Cluster).status;
    expect(status?.conditions?.find((c) => c.type === 'RollingUpdate')).to.include({ status: 'True' });

    // The next reconcile finds the new password in place: no new password, no new request.
    fn.emitted.length = 0;
    expect((await fn.post(requestEvent(ns.name, 'acid-rot-sys'))).status).to.equal(200);
    expect((await secret('postgres', 'acid-rot-sys')).password).to.equal(after.password);
    // Only the relay of pods still marked (ADR 0120): no reason of its own, the password is not rotated again.
    const again = fn.emitted.filter((e) => e.type === 'dev.pgfn.rollingupdate.required').map((e) => e.data['reasons']);
    expect(again).to.deep.equal([['pods marked for rotation']]);
  });

  it('does not restart pods for a manifest user rotated in place (it is not in their environment)', async () => {
    await runningCluster('acid-rot-app', ['app_owner']);
    const before = await secret('app_owner', 'acid-rot-app');
    clock += 91 * DAY;
    expect((await fn.post(requestEvent(ns.name, 'acid-rot-app'))).status).to.equal(200);
    expect((await secret('app_owner', 'acid-rot-app')).password).to.not.equal(before.password);
    expect((await pods('acid-rot-app')).some((p) => p.metadata?.annotations?.[MARK] !== undefined)).to.equal(false);
  });

  it("replaces the pooler's pods once the pooler user's password is rotated in place, leaving Spilo pods alone", async () => {
    await runningCluster('acid-rot-pool', ['pooler'], { enableConnectionPooler: true });
    const poolerPods = async (): Promise<k8s.V1Pod[]> =>
      (
        await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'cluster-name=acid-rot-pool,application=db-connection-pooler' })
      ).items.filter((p) => p.metadata?.deletionTimestamp === undefined);
    const first = await eventually('pooler pods', async () => ((await poolerPods()).length >= 1 ? poolerPods() : undefined), 60_000);
    const before = await secret('pooler', 'acid-rot-pool');
    clock += 91 * DAY;
    expect((await fn.post(requestEvent(ns.name, 'acid-rot-pool'))).status).to.equal(200);
    expect((await secret('pooler', 'acid-rot-pool')).password).to.not.equal(before.password);
    const old = new Set(first.map((p) => p.metadata?.uid));
    await eventually(
      'new pooler pods',
      async () => {
        const now = await poolerPods();
        return now.length >= 1 && now.every((p) => !old.has(p.metadata?.uid)) ? true : undefined;
      },
      60_000,
    );
    expect(
      (await pods('acid-rot-pool'))
        .filter((p) => p.metadata?.labels?.['application'] === 'spilo')
        .some((p) => p.metadata?.annotations?.[MARK] !== undefined),
    ).to.equal(false);
    const events = (await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: 'involvedObject.name=acid-rot-pool' })).items;
    expect(events.some((e) => e.reason === 'PoolerPodsReplaced' && /pooler user pooler/.test(e.message ?? ''))).to.equal(true);
  });
});
