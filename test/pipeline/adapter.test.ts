// The real event path: Knative's receive adapter (run out of cluster as the sources' ServiceAccount, with
// K_SOURCE_CONFIG derived from knative/) → local broker (our Triggers plus a test Trigger) → a local
// subscriber. Changes are made on the shared test apiserver in a fresh namespace.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import * as k8s from '@kubernetes/client-node';
import { KWOK_NODE_SELECTOR } from '@pgfn/controlplane';
import { startPipeline, type Pipeline, type TriggerManifest } from '@pgfn/pipeline';
import { ensureCrds } from '../crds/install.js';
import { testEnv } from '../support/env.js';
import { identityForServiceAccount } from '../support/fn-identity.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';

/** The parts of an event's object (a postgresql or a pod) these tests read. */
interface EventObject {
  metadata: { name: string; namespace?: string; uid?: string; generation?: number; labels?: Record<string, string> };
  spec?: { numberOfInstances?: number };
}

interface Got {
  headers: IncomingHttpHeaders;
  data: EventObject;
  /** Order of arrival (not a time). */
  seq: number;
}

const testTrigger = (uri: string): TriggerManifest => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name: 'test-recorder', namespace: 'pgfn-system' },
  spec: {
    broker: 'pgfn',
    filters: [{ prefix: { type: 'dev.knative.apiserver.resource.' } }],
    delivery: { retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT0.05S' },
    subscriber: { uri },
  },
});

const cluster = (namespace: string, name: string, instances = 1): Record<string, unknown> => ({
  apiVersion: 'acid.zalan.do/v1',
  kind: 'postgresql',
  metadata: { name, namespace },
  spec: { teamId: 'acid', numberOfInstances: instances, postgresql: { version: '17' }, volume: { size: '1Gi' } },
});

describe('the receive adapter through the local broker', function () {
  this.timeout(120_000);
  let server: Server;
  const received: Got[] = [];
  let pipeline: Pipeline;
  let ns: { name: string; cleanup: () => Promise<void> };
  let custom: k8s.CustomObjectsApi;

  const eventsFor = (namespace: string, name: string, type?: string): Got[] =>
    received.filter(
      (g) =>
        g.headers['ce-namespace'] === namespace && g.headers['ce-name'] === name && (type === undefined || g.headers['ce-type'] === type),
    );
  const waitFor = async (
    what: string,
    { namespace, name, type }: { namespace: string; name: string; type: string },
    test: (g: Got) => boolean = () => true,
  ): Promise<Got> => eventually(what, () => Promise.resolve(eventsFor(namespace, name, type).find(test)), 30_000, 20);
  const create = async (namespace: string, name: string, instances = 1): Promise<{ uid: string }> => {
    const obj = (await custom.createNamespacedCustomObject({
      group: 'acid.zalan.do',
      version: 'v1',
      plural: 'postgresqls',
      namespace,
      body: cluster(namespace, name, instances),
    })) as { metadata: { uid: string } };
    return { uid: obj.metadata.uid };
  };
  const patchInstances = async (namespace: string, name: string, n: number): Promise<void> => {
    await custom.patchNamespacedCustomObject(
      { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls', namespace, name, body: { spec: { numberOfInstances: n } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  };
  const remove = async (namespace: string, name: string): Promise<void> => {
    await custom.deleteNamespacedCustomObject({ group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls', namespace, name });
  };

  before(async () => {
    const admin = adminConfig();
    custom = admin.makeApiClient(k8s.CustomObjectsApi);
    await ensureCrds(admin);
    ns = await createNamespace(admin, 'adapter');
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({
          headers: req.headers,
          data: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as EventObject,
          seq: received.length,
        });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const identity = await identityForServiceAccount('pgfn-apiserver-source', 'pgfn-system');
    pipeline = await startPipeline({
      kubeconfig: testEnv().kubeconfig,
      // the adapters watch with exactly the rights knative/ grants the sources' ServiceAccount
      adapterKubeconfig: identity.file,
      logDir: mkdtempSync(join(testEnv().dir, 'pipeline-')),
      functions: {},
      schedulePings: false,
      extraTriggers: [testTrigger(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)],
    });
  });

  after(async () => {
    await pipeline?.stop();
    server?.close();
    await ns?.cleanup();
  });

  it('derives K_SOURCE_CONFIG from the shipped ApiServerSources', () => {
    expect(pipeline.adapters.map((a) => a.name).sort()).to.deep.equal(['pgfn-nodes', 'pgfn-resources', 'pgfn-spilo']);
    expect(pipeline.adapter('pgfn-spilo').config.resources.map((r) => r.selector)).to.deep.equal(['application=spilo']);
  });

  it('delivers a new postgresql as a Resource-mode add event with kind/name/namespace extensions and the whole object', async () => {
    const { uid } = await create(ns.name, 'acid-one', 2);
    const got = await waitFor('the add event', { namespace: ns.name, name: 'acid-one', type: 'dev.knative.apiserver.resource.add' });
    expect(got.headers).to.include({
      'ce-specversion': '1.0',
      'ce-kind': 'postgresql',
      'ce-apiversion': 'acid.zalan.do/v1',
      'ce-subject': `/apis/acid.zalan.do/v1/namespaces/${ns.name}/postgresqls/acid-one`,
      'content-type': 'application/json',
    });
    expect(got.headers['ce-source']).to.equal(testEnv().server);
    expect(got.data.metadata).to.include({ name: 'acid-one', namespace: ns.name, uid });
    expect(got.data.spec).to.deep.equal((cluster(ns.name, 'acid-one', 2) as { spec: unknown }).spec);
  });

  it('delivers updates and deletes', async () => {
    await patchInstances(ns.name, 'acid-one', 3);
    const update = await waitFor(
      'the update event',
      { namespace: ns.name, name: 'acid-one', type: 'dev.knative.apiserver.resource.update' },
      (g) => g.data.spec?.numberOfInstances === 3,
    );
    expect(update.data.metadata.generation).to.equal(2);
    await remove(ns.name, 'acid-one');
    const deleted = await waitFor('the delete event', {
      namespace: ns.name,
      name: 'acid-one',
      type: 'dev.knative.apiserver.resource.delete',
    });
    expect(deleted.data.metadata.name).to.equal('acid-one');
  });

  it('delivers Spilo pods, and not other pods', async () => {
    const core = adminConfig().makeApiClient(k8s.CoreV1Api);
    const pod = (name: string, labels: Record<string, string>): k8s.V1Pod => ({
      metadata: { name, labels },
      spec: { nodeSelector: { ...KWOK_NODE_SELECTOR }, containers: [{ name: 'postgres', image: 'spilo' }] },
    });
    await core.createNamespacedPod({ namespace: ns.name, body: pod('acid-two-0', { application: 'spilo', 'cluster-name': 'acid-two' }) });
    await core.createNamespacedPod({ namespace: ns.name, body: pod('unrelated', { app: 'web' }) });
    const got = await waitFor('the spilo pod event', {
      namespace: ns.name,
      name: 'acid-two-0',
      type: 'dev.knative.apiserver.resource.add',
    });
    expect(got.headers['ce-kind']).to.equal('Pod');
    expect(got.data.metadata.labels?.['cluster-name']).to.equal('acid-two');
    await new Promise((r) => setTimeout(r, 1000));
    expect(eventsFor(ns.name, 'unrelated')).to.deep.equal([]);
  });

  it('delivers Nodes (cluster-scoped): a cordon arrives as an update carrying spec.unschedulable', async () => {
    const core = adminConfig().makeApiClient(k8s.CoreV1Api);
    const name = `pgfn-adapter-${ns.name}`;
    await core.createNode({ body: { metadata: { name, labels: { 'pgfn.dev/test': 'adapter' } } } });
    try {
      await core.patchNode(
        { name, body: { spec: { unschedulable: true } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      const got = await eventually(
        'the cordon of the node',
        () =>
          Promise.resolve(
            received.find(
              (g) =>
                g.headers['ce-kind'] === 'Node' &&
                g.headers['ce-name'] === name &&
                g.headers['ce-type'] === 'dev.knative.apiserver.resource.update' &&
                (g.data as { spec?: { unschedulable?: boolean } }).spec?.unschedulable === true,
            ),
          ),
        30_000,
        20,
      );
      expect(got.headers['ce-namespace'] ?? '', 'a cluster-scoped object has no namespace').to.equal('');
      expect(got.data.metadata.labels?.['pgfn.dev/test']).to.equal('adapter');
    } finally {
      await core.deleteNode({ name });
    }
  });

  it('survives a kill and a restart, reporting nothing of what changed while it was down (the resync must)', async () => {
    const adapter = pipeline.adapter('pgfn-resources');
    await create(ns.name, 'acid-kept');
    await create(ns.name, 'acid-gone');
    await waitFor('add of acid-gone', { namespace: ns.name, name: 'acid-gone', type: 'dev.knative.apiserver.resource.add' });
    await adapter.kill();
    expect(adapter.running).to.equal(false);

    const before = received.length;
    await patchInstances(ns.name, 'acid-kept', 2);
    await remove(ns.name, 'acid-gone');
    await create(ns.name, 'acid-new');
    const restarted = received.length;
    await adapter.restart();
    expect(adapter.running).to.equal(true);

    // a change after the restart is delivered ...
    await patchInstances(ns.name, 'acid-new', 2);
    await waitFor('update after restart', { namespace: ns.name, name: 'acid-new', type: 'dev.knative.apiserver.resource.update' });
    await patchInstances(ns.name, 'acid-kept', 3);
    await waitFor(
      'update after restart',
      { namespace: ns.name, name: 'acid-kept', type: 'dev.knative.apiserver.resource.update' },
      (g) => g.data.spec?.numberOfInstances === 3,
    );
    // ... but the re-list after a restart sends nothing: the update, delete and create made while the
    // adapter was down were never reported (Knative's adapter ignores its store's Replace)
    const duringDowntime = received.slice(before).filter((g) => g.headers['ce-kind'] === 'postgresql' && g.seq < restarted);
    expect(duringDowntime).to.deep.equal([]);
    expect(eventsFor(ns.name, 'acid-gone', 'dev.knative.apiserver.resource.delete')).to.deep.equal([]);
    expect(eventsFor(ns.name, 'acid-new', 'dev.knative.apiserver.resource.add')).to.deep.equal([]);
    expect(
      eventsFor(ns.name, 'acid-kept', 'dev.knative.apiserver.resource.update').map((g) => g.data.spec?.numberOfInstances),
    ).to.deep.equal([3]);
  });
});
