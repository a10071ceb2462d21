import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import type { Postgresql } from '@pgfn/api';
import { POD_TEMPLATE_HASH_ANNOTATION } from '@pgfn/builder';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace, eventually, statusOf } from '../support/kube.js';
import { kwokPodsRunning } from '../support/volumes.js';
import {
  example,
  labelLikePatroni,
  onKwok,
  pingEvent,
  podEvent,
  requestEvent,
  resourceEvent,
  startReconcile,
  type RunningReconcile,
} from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };

type Namespace = { name: string; cleanup: () => Promise<void> };

interface Clients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  custom: k8s.CustomObjectsApi;
  ns: Namespace;
}

/** Admin clients of the control plane, with the CRDs installed and a fresh namespace named after `prefix`. */
async function prepare(prefix: string): Promise<Clients> {
  const kc = adminConfig();
  const clients = {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
  };
  await ensureCrds(kc);
  return { ...clients, ns: await createNamespace(kc, prefix) };
}

describe('reconcile (real control plane, kwok pods)', function () {
  this.timeout(180_000);
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let custom: k8s.CustomObjectsApi;
  let fn: RunningReconcile;
  let ns: Namespace;

  before(async () => {
    ({ kc, core, apps, custom, ns } = await prepare('reconcile'));
    fn = await startReconcile(kc, ns.name);
  });
  after(async () => {
    await fn.stop();
    await ns.cleanup();
  });

  const create = async (pg: Cluster): Promise<Cluster> =>
    (await custom.createNamespacedCustomObject({ ...PG, namespace: ns.name, body: pg })) as Cluster;
  const read = async (name: string): Promise<Cluster> =>
    (await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name })) as Cluster;
  const replaceSpec = async (name: string, edit: (spec: Cluster['spec']) => Cluster['spec']): Promise<Cluster> => {
    const cur = await read(name);
    return (await custom.replaceNamespacedCustomObject({
      ...PG,
      namespace: ns.name,
      name,
      body: { ...cur, spec: edit(cur.spec) },
    })) as Cluster;
  };
  const exists = async (read: () => Promise<unknown>): Promise<boolean> =>
    read().then(
      () => true,
      (e: unknown) => {
        if (statusOf(e) === 404) return false;
        throw e;
      },
    );

  it('creates every object of a new cluster from a binary-mode add event and reports Running once pods are up', async () => {
    const pg = await create(onKwok(example('minimal.yaml', ns.name, 'acid-one')));
    fn.requests.reset();
    const res = await fn.post(resourceEvent('add', pg), 'binary');
    expect(res.status).to.equal(200);
    expect(fn.requests.byKind.get('list PersistentVolumeClaim'), 'claims read once, with the other lists (ADR 0143)').to.equal(1);
    const sts = await apps.readNamespacedStatefulSet({ namespace: ns.name, name: 'acid-one' });
    expect(sts.spec?.replicas).to.equal(2);
    expect(sts.spec?.updateStrategy?.type).to.equal('OnDelete');
    for (const svc of ['acid-one', 'acid-one-repl'])
      expect(await exists(() => core.readNamespacedService({ namespace: ns.name, name: svc })), svc).to.equal(true);
    const secret = await core.readNamespacedSecret({ namespace: ns.name, name: 'postgres.acid-one.credentials.postgresql.acid.zalan.do' });
    expect(Buffer.from(secret.data?.['password'] ?? '', 'base64').toString()).to.match(/^[A-Za-z0-9]{64}$/);
    expect(await exists(() => core.readNamespacedServiceAccount({ namespace: ns.name, name: 'postgres-pod' }))).to.equal(true);
    const created = await read('acid-one');
    expect(created.status?.PostgresClusterStatus).to.equal('Creating');
    expect(created.status?.observedGeneration).to.equal(created.metadata?.generation);
    // Its claims are made from the manifest: rolling-update's VolumesResized starts up to date (ADR 0131).
    expect(created.status?.conditions?.find((c) => c.type === 'VolumesResized')).to.include({ status: 'True', reason: 'UpToDate' });

    await eventually('2 Running kwok pods', () => kwokPodsRunning(kc, ns.name, 'cluster-name=acid-one', 2), 60_000);
    await labelLikePatroni(kc, ns.name, 'acid-one');
    // The CR's own update events are echoes of our writes now (ignored); pod changes move the status.
    expect((await fn.post(resourceEvent('update', created), 'structured')).status, 'ignored').to.equal(202);
    expect((await read('acid-one')).status?.PostgresClusterStatus).to.equal('Creating');
    await eventually(
      'status Running after a pod event',
      async () => {
        await fn.post(podEvent(ns.name, 'acid-one'), 'structured');
        const now = await read('acid-one');
        return now.status?.PostgresClusterStatus === 'Running' ? now : undefined;
      },
      60_000,
      1000,
    );
    expect(fn.emitted.some((e) => e.type === 'dev.pgfn.cluster.ready' && e.subject === `${ns.name}/acid-one`)).to.equal(true);
    // No pod has work for rolling-update: its pod changes are not relayed (ADR 0120).
    expect(fn.emitted.map((e) => e.type)).to.not.include('dev.pgfn.rollingupdate.required');
    expect(
      fn.emitted.map((e) => e.type),
      'a new cluster is told by cluster.ready (ADR 0132)',
    ).to.not.include('dev.pgfn.cluster.updated');
  });

  it('writes nothing when the same event arrives again, and reads nothing for an echo of its own status write', async () => {
    const pg = await read('acid-one');
    fn.requests.reset();
    expect((await fn.post(resourceEvent('update', pg))).status, 'ignored').to.equal(202);
    expect([...fn.requests.counts], 'an echo costs no request').to.deep.equal([]);
    expect((await fn.post(requestEvent(ns.name, 'acid-one'))).status).to.equal(200);
    expect((await fn.post(resourceEvent('add', { ...pg, status: undefined }))).status).to.equal(200);
    expect(fn.requests.counts.get('list') ?? 0, 'a full reconcile re-reads').to.be.greaterThan(0);
    expect(fn.requests.writes(), JSON.stringify([...fn.requests.counts])).to.equal(0);
    expect(fn.requests.byKind.get('list PersistentVolumeClaim') ?? 0, 'synced, its StatefulSet exists: no claims to read').to.equal(0);
  });

  it('leaves VolumesResized to rolling-update when a new cluster finds an older claim of its name (read on its first event)', async () => {
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns.name,
      body: {
        metadata: { name: 'pgdata-acid-claimed-0', labels: { application: 'spilo', 'cluster-name': 'acid-claimed' } },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } },
      },
    });
    const pg = await create(onKwok(example('minimal.yaml', ns.name, 'acid-claimed')));
    fn.requests.reset();
    expect((await fn.post(resourceEvent('add', pg))).status).to.equal(200);
    expect(fn.requests.byKind.get('list PersistentVolumeClaim')).to.equal(1);
    const created = await read('acid-claimed');
    expect(created.status?.PostgresClusterStatus).to.equal('Creating');
    expect(created.status?.conditions?.find((c) => c.type === 'VolumesResized')).to.equal(undefined);
  });

  it('acts on the current object, not on a stale event, and repairs a lost update', async () => {
    const stale = await read('acid-one');
    await replaceSpec('acid-one', (spec) => ({ ...spec, numberOfInstances: 3 }));
    fn.emitted.length = 0;
    // The event for the edit is "lost"; the cluster's original add event arrives late instead.
    expect((await fn.post(resourceEvent('add', { ...stale, status: undefined }))).status).to.equal(200);
    // The changed spec of a running cluster is told once, for team-role-sync (ADR 0132).
    const updated = fn.emitted.filter((e) => e.type === 'dev.pgfn.cluster.updated');
    expect(updated.map((e) => e.subject)).to.deep.equal([`${ns.name}/acid-one`]);
    const sts = await apps.readNamespacedStatefulSet({ namespace: ns.name, name: 'acid-one' });
    expect(sts.spec?.replicas).to.equal(3);
    // The third pod exists before the next test changes the template (else it may be made from either).
    await eventually(
      'the third pod',
      async () =>
        (await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'cluster-name=acid-one' })).items.length === 3
          ? true
          : undefined,
      60_000,
    );
  });

  it('marks pods for rotation when the pod template changes, and emits rollingupdate.required', async () => {
    fn.emitted.length = 0;
    await replaceSpec('acid-one', (spec) => ({ ...spec, dockerImage: 'ghcr.io/zalando/spilo-17:4.0-p9' }));
    await fn.post(resourceEvent('update', await read('acid-one')));
    // Pods the StatefulSet controller makes from the new template meanwhile need no rotation.
    const template = (await apps.readNamespacedStatefulSet({ namespace: ns.name, name: 'acid-one' })).spec?.template.metadata
      ?.annotations?.[POD_TEMPLATE_HASH_ANNOTATION];
    const pods = (await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'cluster-name=acid-one' })).items.filter(
      (p) => p.metadata?.annotations?.[POD_TEMPLATE_HASH_ANNOTATION] !== template,
    );
    expect(pods.length).to.be.greaterThan(0);
    expect(pods.map((p) => p.metadata?.annotations?.['zalando-postgres-operator-rolling-update-required'])).to.deep.equal(
      pods.map(() => 'true'),
    );
    expect(fn.emitted.map((e) => e.type)).to.include('dev.pgfn.rollingupdate.required');
    const status = (await read('acid-one')).status;
    expect(status?.conditions?.find((c) => c.type === 'RollingUpdate')?.status).to.equal('True');

    // An outdated pod that lost (or never got) its mark is marked again by its next pod event.
    const victim = pods[0]?.metadata?.name ?? '';
    await core.patchNamespacedPod(
      {
        namespace: ns.name,
        name: victim,
        body: { metadata: { annotations: { 'zalando-postgres-operator-rolling-update-required': null } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    fn.emitted.length = 0;
    expect((await fn.post(podEvent(ns.name, 'acid-one', victim))).status).to.equal(200);
    const again = await core.readNamespacedPod({ namespace: ns.name, name: victim });
    expect(again.metadata?.annotations?.['zalando-postgres-operator-rolling-update-required']).to.equal('true');
    expect(fn.emitted.map((e) => e.type)).to.include('dev.pgfn.rollingupdate.required');

    // A pod change while pods stay marked (nothing newly marked) is relayed to rolling-update (ADR 0120).
    fn.emitted.length = 0;
    expect((await fn.post(podEvent(ns.name, 'acid-one', victim))).status).to.equal(200);
    const relayed = fn.emitted.find((e) => e.type === 'dev.pgfn.rollingupdate.required');
    expect(relayed?.subject).to.equal(`${ns.name}/acid-one`);
    expect((relayed?.data as { reasons?: string[] } | undefined)?.reasons).to.deep.equal(['pods marked for rotation']);
  });

  it('removes exactly the pooler objects when the pooler is switched off, and recreates them', async () => {
    const withPooler = await create(onKwok(example('minimal.yaml', ns.name, 'acid-pool')));
    await replaceSpec('acid-pool', (spec) => ({ ...spec, enableConnectionPooler: true }));
    await fn.post(resourceEvent('update', withPooler));
    expect(await exists(() => apps.readNamespacedDeployment({ namespace: ns.name, name: 'acid-pool-pooler' }))).to.equal(true);
    expect(await exists(() => core.readNamespacedService({ namespace: ns.name, name: 'acid-pool-pooler' }))).to.equal(true);
    const before = (await core.listNamespacedService({ namespace: ns.name, labelSelector: 'cluster-name=acid-pool' })).items
      .map((s) => s.metadata?.name)
      .sort();

    await replaceSpec('acid-pool', (spec) => ({ ...spec, enableConnectionPooler: false }));
    await fn.post(resourceEvent('update', withPooler));
    expect(await exists(() => apps.readNamespacedDeployment({ namespace: ns.name, name: 'acid-pool-pooler' }))).to.equal(false);
    const after = (await core.listNamespacedService({ namespace: ns.name, labelSelector: 'cluster-name=acid-pool' })).items
      .map((s) => s.metadata?.name)
      .sort();
    expect(after).to.deep.equal(before.filter((n) => n !== 'acid-pool-pooler'));
    expect(await exists(() => apps.readNamespacedStatefulSet({ namespace: ns.name, name: 'acid-pool' }))).to.equal(true);

    await replaceSpec('acid-pool', (spec) => ({ ...spec, enableConnectionPooler: true }));
    await fn.post(resourceEvent('update', withPooler));
    expect(await exists(() => apps.readNamespacedDeployment({ namespace: ns.name, name: 'acid-pool-pooler' }))).to.equal(true);
  });

  it('keeps the Secret of a user removed from the manifest (its password is never lost)', async () => {
    await replaceSpec('acid-one', (spec) => ({ ...spec, users: { ...spec.users, leaver: [] } }));
    await fn.post(resourceEvent('update', await read('acid-one')));
    const name = 'leaver.acid-one.credentials.postgresql.acid.zalan.do';
    const before = await core.readNamespacedSecret({ namespace: ns.name, name });
    await replaceSpec('acid-one', (spec) => {
      const { leaver: _gone, ...users } = spec.users ?? {};
      return { ...spec, users };
    });
    await fn.post(resourceEvent('update', await read('acid-one')));
    const after = await core.readNamespacedSecret({ namespace: ns.name, name });
    expect(after.data?.['password']).to.equal(before.data?.['password']);
  });

  it('reports an invalid manifest on the status and as a Warning Event, touching nothing', async () => {
    const bad = onKwok(example('minimal.yaml', ns.name, 'acid-bad'));
    bad.spec.users = { ...bad.spec.users, both: ['login', 'nologin'] };
    const pg = await create(bad);
    expect((await fn.post(resourceEvent('add', pg))).status).to.equal(200);
    const status = (await read('acid-bad')).status;
    expect(status?.PostgresClusterStatus).to.equal('Invalid');
    expect(status?.conditions?.find((c) => c.type === 'Valid')?.message).to.match(/both/);
    expect(await exists(() => apps.readNamespacedStatefulSet({ namespace: ns.name, name: 'acid-bad' }))).to.equal(false);
    const events = (await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: 'involvedObject.name=acid-bad' })).items;
    expect(events.some((e) => e.type === 'Warning' && e.reason === 'InvalidSpec')).to.equal(true);
  });

  it('resyncs every cluster on a ping; a converged fleet costs zero writes', async () => {
    expect((await fn.post(pingEvent())).status).to.be.oneOf([200, 503]);
    await fn.post(pingEvent());
    fn.requests.reset();
    const res = await fn.post(pingEvent());
    expect(res.status).to.equal(200);
    expect(fn.requests.writes(), JSON.stringify([...fn.requests.counts])).to.equal(0);
  });
});

describe('reconcile: deletion through the finalizer', function () {
  this.timeout(180_000);
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let custom: k8s.CustomObjectsApi;
  let ns: Namespace;

  before(async () => {
    ({ kc, core, apps, custom, ns } = await prepare('reconcile-del'));
  });
  after(async () => {
    await ns.cleanup();
  });

  const clusterObjects = async (name: string): Promise<string[]> => {
    const sel = { namespace: ns.name, labelSelector: `cluster-name=${name}` };
    return [
      ...(await apps.listNamespacedStatefulSet(sel)).items.map((o) => `StatefulSet/${o.metadata?.name}`),
      ...(await core.listNamespacedService(sel)).items.map((o) => `Service/${o.metadata?.name}`),
      ...(await core.listNamespacedSecret(sel)).items.map((o) => `Secret/${o.metadata?.name}`),
      ...(await core.listNamespacedEndpoints(sel)).items.map((o) => `Endpoints/${o.metadata?.name}`),
    ].sort();
  };
  const gone = async (name: string): Promise<boolean> =>
    custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name }).then(
      () => false,
      (e: unknown) => statusOf(e) === 404,
    );

  it('cleans up after a delete whose event was lost: the next resync finds the finalizer and finishes', async () => {
    const fn = await startReconcile(kc, ns.name);
    try {
      const pg = (await custom.createNamespacedCustomObject({
        ...PG,
        namespace: ns.name,
        body: onKwok(example('minimal.yaml', ns.name, 'acid-del')),
      })) as Cluster;
      await fn.post(resourceEvent('add', pg));
      const withFinalizer = (await custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-del' })) as Cluster;
      expect(withFinalizer.metadata?.finalizers).to.include('postgres-operator.acid.zalan.do');
      // Patroni's own object, which upstream also removes on delete.
      await core.createNamespacedEndpoints({
        namespace: ns.name,
        body: { metadata: { name: 'acid-del-config', labels: { application: 'spilo', 'cluster-name': 'acid-del' } } },
      });
      expect((await clusterObjects('acid-del')).length).to.be.greaterThan(4);

      await custom.deleteNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-del' });
      expect(await gone('acid-del'), 'the finalizer holds the CR').to.equal(false);
      // No delete event is sent: a periodic resync must finish the job.
      expect((await fn.post(pingEvent())).status).to.equal(200);
      await eventually('the CR to be released', async () => ((await gone('acid-del')) ? true : undefined), 30_000);
      await eventually(
        'every cluster object removed',
        async () => ((await clusterObjects('acid-del')).length === 0 ? true : undefined),
        30_000,
      );
      expect(fn.emitted.map((e) => e.type)).to.include('dev.pgfn.cluster.deleted');
    } finally {
      await fn.stop();
    }
  });

  it('refuses a deletion that does not carry the delete-protection annotations, keeping everything', async () => {
    const { DEFAULT_OPERATOR_CONFIG } = await import('@pgfn/api');
    const protectedConfig = {
      ...DEFAULT_OPERATOR_CONFIG,
      deleteAnnotationDateKey: 'delete-date',
      deleteAnnotationNameKey: 'delete-clustername',
    };
    const fn = await startReconcile(kc, ns.name, protectedConfig);
    try {
      const pg = (await custom.createNamespacedCustomObject({
        ...PG,
        namespace: ns.name,
        body: onKwok(example('minimal.yaml', ns.name, 'acid-keep')),
      })) as Cluster;
      await fn.post(resourceEvent('add', pg));
      const before = await clusterObjects('acid-keep');
      await custom.deleteNamespacedCustomObject({ ...PG, namespace: ns.name, name: 'acid-keep' });
      await fn.post(resourceEvent('delete', pg));
      expect(await gone('acid-keep')).to.equal(false);
      expect(await clusterObjects('acid-keep')).to.deep.equal(before);
      const events = (await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: 'involvedObject.name=acid-keep' })).items;
      expect(events.some((e) => e.reason === 'DeleteRefused' && /delete-date/.test(e.message ?? ''))).to.equal(true);

      // With today's date and the name set, the same deletion goes through.
      const today = new Date().toISOString().slice(0, 10);
      await custom.patchNamespacedCustomObject(
        {
          ...PG,
          namespace: ns.name,
          name: 'acid-keep',
          body: { metadata: { annotations: { 'delete-date': today, 'delete-clustername': 'acid-keep' } } },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await fn.post(resourceEvent('delete', pg));
      await eventually('the CR to be released', async () => ((await gone('acid-keep')) ? true : undefined), 30_000);
    } finally {
      await fn.stop();
    }
  });
});

describe('reconcile: writes in waves (ADR 0110)', function () {
  this.timeout(120_000);
  let c: Clients;
  let fn: RunningReconcile;
  /** The writes of the invocation under test, in the order they were sent. */
  let writes: string[] = [];
  const WORKLOADS = new Set(['StatefulSet', 'Deployment', 'CronJob']);

  before(async () => {
    c = await prepare('reconcile-waves');
    fn = await startReconcile(c.kc, c.ns.name, undefined, {
      observe: (verb, kind) => {
        if (['apply', 'create', 'delete', 'patch', 'replace'].includes(verb)) writes.push(`${verb} ${kind}`);
      },
    });
  });
  after(async () => {
    await fn?.stop();
    await c?.ns.cleanup();
  });

  it('sends a new cluster’s workloads only after everything their pods need, and deletions last', async () => {
    const body = onKwok(example('minimal.yaml', c.ns.name, 'acid-waves'));
    body.spec = { ...body.spec, enableConnectionPooler: true };
    const pg = (await c.custom.createNamespacedCustomObject({ ...PG, namespace: c.ns.name, body })) as Cluster;
    writes = [];
    expect((await fn.post(resourceEvent('add', pg))).status).to.equal(200);
    const isWorkload = (w: string): boolean => WORKLOADS.has(w.split(' ')[1] ?? '');
    const objects = writes.filter((w) => !w.endsWith(' postgresql') && !w.endsWith(' Event'));
    const lastOther = objects.map((w) => !isWorkload(w)).lastIndexOf(true);
    const firstWorkload = objects.findIndex(isWorkload);
    expect(objects.filter(isWorkload), 'the StatefulSet and the pooler Deployment').to.have.length(2);
    expect(objects.filter((w) => w.endsWith(' Secret')).length, 'Secrets').to.be.greaterThan(0);
    expect(firstWorkload, `workloads after the rest: ${objects.join(', ')}`).to.be.greaterThan(lastOther);

    const live = (await c.custom.getNamespacedCustomObject({ ...PG, namespace: c.ns.name, name: 'acid-waves' })) as Cluster;
    await c.custom.replaceNamespacedCustomObject({
      ...PG,
      namespace: c.ns.name,
      name: 'acid-waves',
      body: { ...live, spec: { ...live.spec, enableConnectionPooler: false, numberOfInstances: 3 } },
    });
    writes = [];
    expect((await fn.post(resourceEvent('update', pg))).status).to.equal(200);
    const changed = writes.filter((w) => !w.endsWith(' postgresql') && !w.endsWith(' Event'));
    const firstDelete = changed.findIndex((w) => w.startsWith('delete '));
    expect(firstDelete, `a deletion: ${changed.join(', ')}`).to.be.greaterThan(0);
    expect(
      changed.slice(firstDelete).every((w) => w.startsWith('delete ')),
      `deletions last: ${changed.join(', ')}`,
    ).to.equal(true);
  });
});
