// spec.streams end to end with the operator in the loop: reconcile builds a real Spilo cluster that
// the node agent runs (Patroni + PostgreSQL), then creates, updates and removes the publication, the
// logical slot (through Patroni's DCS, so pg_replication_slots and GET /config both show it) and the
// FabricEventStream object, with upstream's FES CRD installed. A slot (in Patroni's /config, where
// Patroni keeps it) and a publication created by hand stay untouched.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import pg from 'pg';
import type { Postgresql } from '@pgfn/api';
import { KubeClient } from '@pgfn/kube';
import { postgresPodClusterRole, spiloConfig, spiloManifest } from '@pgfn/node-agent/testing';
import { ensureCrds, ensureFesCrd } from '../crds/install.js';
import { connect, startTestAgent, waitForRoles, type TestAgent } from '../node-agent/support.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';
import { podEvent, requestEvent, resourceEvent, startReconcile, type RunningReconcile } from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const FES = { group: 'zalando.org', version: 'v1', plural: 'fabriceventstreams' };
const SLOT = 'fes_foo_my_app';
const MERGE = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

interface Fes {
  metadata: { name: string; ownerReferences?: { uid: string }[] };
  spec: { applicationId: string; eventStreams: { source: { table: { name: string }; jdbcConnection: { slotName: string } } }[] };
}

describe('reconcile: spec.streams (real control plane, real Patroni and PostgreSQL through the node agent)', function () {
  this.timeout(300_000);
  const name = 'acid-streams';
  let kc: k8s.KubeConfig;
  let objects: k8s.CustomObjectsApi;
  let ns: { name: string; cleanup: () => Promise<void> };
  let agent: TestAgent;
  let fn: RunningReconcile;
  let master: string;
  let foo: pg.Client;

  const read = async (): Promise<Cluster> => (await objects.getNamespacedCustomObject({ ...PG, namespace: ns.name, name })) as Cluster;
  const fesList = async (): Promise<Fes[]> =>
    ((await objects.listNamespacedCustomObject({ ...FES, namespace: ns.name })) as { items: Fes[] }).items;
  const patchStreams = async (streams: unknown): Promise<void> => {
    const updated = (await objects.patchNamespacedCustomObject(
      { ...PG, namespace: ns.name, name, body: { spec: { streams } } },
      MERGE,
    )) as Cluster;
    expect((await fn.post(resourceEvent('update', updated))).status).to.equal(200);
  };
  const publications = async (): Promise<Record<string, string[]>> => {
    const rows = await foo.query<{ pubname: string; t: string | null }>(
      `SELECT p.pubname, pt.schemaname || '.' || pt.tablename AS t FROM pg_publication p
         LEFT JOIN pg_publication_tables pt ON pt.pubname = p.pubname ORDER BY 1, 2`,
    );
    const out: Record<string, string[]> = {};
    for (const r of rows.rows) out[r.pubname] = [...(out[r.pubname] ?? []), ...(r.t === null ? [] : [r.t])];
    return out;
  };
  const slots = async (): Promise<string[]> =>
    (
      await foo.query<{ s: string }>(
        `SELECT slot_name || ' ' || slot_type || ' ' || coalesce(plugin, '') || ' ' || coalesce(database, '') AS s
           FROM pg_replication_slots ORDER BY 1`,
      )
    ).rows.map((r) => r.s);
  const patroniSlots = async (): Promise<Record<string, unknown>> => {
    const res = await fetch(`http://${master}:8008/config`);
    return ((await res.json()) as { slots?: Record<string, unknown> }).slots ?? {};
  };
  const condition = async (): Promise<{ status?: string; message?: string } | undefined> =>
    (await read()).status?.conditions?.find((c) => c.type === 'StreamsSynced');

  before(async () => {
    kc = adminConfig();
    objects = kc.makeApiClient(k8s.CustomObjectsApi);
    await ensureCrds(kc);
    await ensureFesCrd(kc);
    ns = await createNamespace(kc, 'streams');
    agent = await startTestAgent('pgfn-agent-streams');
    await new KubeClient(kc).apply(postgresPodClusterRole());
    const config = spiloConfig({ namespace: ns.name, config: { enableOwnerReferences: true } });
    fn = await startReconcile(kc, ns.name, config, { syncRoles: true, syncStreams: true });
    const manifest = spiloManifest({
      namespace: ns.name,
      name,
      instances: 1,
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
      // Logical slots need wal_level logical (upstream's users set it for streams too).
      parameters: { wal_level: 'logical' },
      users: { foo_owner: [] },
      databases: { foo: 'foo_owner' },
    });
    const { uid: _fake, ...metadata } = manifest.metadata;
    const created = (await objects.createNamespacedCustomObject({
      ...PG,
      namespace: ns.name,
      body: { ...manifest, metadata },
    })) as Cluster;
    expect((await fn.post(resourceEvent('add', created))).status).to.equal(200);
    const roles = await waitForRoles(kc, ns.name, name, 0);
    master = roles.master.ip ?? '';
    // Role sync creates the database once Postgres answers; pod events drive it as Patroni's labels would.
    await eventually(
      'RolesSynced',
      async () => {
        await fn.post(podEvent(ns.name, name));
        return (await read()).status?.conditions?.find((c) => c.type === 'RolesSynced' && c.status === 'True');
      },
      120_000,
      1000,
    );
    const secret = await kc
      .makeApiClient(k8s.CoreV1Api)
      .readNamespacedSecret({ namespace: ns.name, name: `postgres.${name}.credentials.postgresql.acid.zalan.do` });
    const password = Buffer.from(secret.data?.['password'] ?? '', 'base64').toString();
    foo = await connect(master, password, { database: 'foo' });
    await foo.query('CREATE SCHEMA data; CREATE TABLE data.orders (id int primary key); CREATE TABLE items (id int primary key)');
    await foo.query('CREATE TABLE other (id int primary key); CREATE PUBLICATION fes_foo_manual FOR TABLE other');
    // Patroni drops slots it does not know (use_slots), so a slot someone else keeps lives in its /config too.
    const manual = await fetch(`http://${master}:8008/config`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slots: { fes_foo_manual: { type: 'logical', database: 'foo', plugin: 'pgoutput' } } }),
    });
    expect(manual.status).to.equal(200);
    await eventually(
      'the manual slot',
      async () => ((await slots()).includes('fes_foo_manual logical pgoutput foo') ? true : undefined),
      60_000,
    );
  });
  after(async () => {
    await foo?.end();
    await fn?.stop();
    await agent?.stop();
    await ns?.cleanup();
  });

  it('creates the publication, the logical slot through Patroni and the FabricEventStream object', async () => {
    await patchStreams([
      {
        applicationId: 'my-app',
        database: 'foo',
        tables: { 'data.orders': { eventType: 'order-event' }, items: { eventType: 'item-event' } },
        batchSize: 10,
      },
    ]);
    expect((await publications())[SLOT]).to.deep.equal(['data.orders', 'public.items']);
    expect(await patroniSlots()).to.deep.include({ [SLOT]: { type: 'logical', database: 'foo', plugin: 'pgoutput' } });
    await eventually(
      'Patroni creates the slot',
      async () => ((await slots()).includes(`${SLOT} logical pgoutput foo`) ? true : undefined),
      60_000,
    );
    const [fes, ...more] = await fesList();
    expect(more).to.deep.equal([]);
    expect(fes?.spec.applicationId).to.equal('my-app');
    expect(fes?.spec.eventStreams.map((e) => e.source.table.name).sort()).to.deep.equal(['items', 'orders']);
    expect(fes?.spec.eventStreams.every((e) => e.source.jdbcConnection.slotName === SLOT)).to.equal(true);
    expect(fes?.metadata.ownerReferences?.map((r) => r.uid)).to.deep.equal([(await read()).metadata?.uid]);
    expect(await condition()).to.include({ status: 'True' });
    // The FES connection's user, created by the role sync as upstream does while streams exist.
    const user = await foo.query<{ rolreplication: boolean }>("SELECT rolreplication FROM pg_roles WHERE rolname = 'fes_user'");
    expect(user.rows).to.deep.equal([{ rolreplication: true }]);
    const auth = (fes?.spec.eventStreams[0]?.source.jdbcConnection as { databaseAuthentication?: { name?: string } })
      .databaseAuthentication;
    const secret = await kc.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ namespace: ns.name, name: auth?.name ?? '' });
    expect(Buffer.from(secret.data?.['username'] ?? '', 'base64').toString()).to.equal('fes_user');
  });

  it('takes a table that left the manifest out of the publication and the FES object', async () => {
    await patchStreams([{ applicationId: 'my-app', database: 'foo', tables: { 'data.orders': { eventType: 'order-event' } } }]);
    expect((await publications())[SLOT]).to.deep.equal(['data.orders']);
    const [fes] = await fesList();
    expect(fes?.spec.eventStreams.map((e) => e.source.table.name)).to.deep.equal(['orders']);
  });

  it('a resync of unchanged streams changes nothing', async () => {
    const before = (await fesList())[0]?.metadata;
    expect((await fn.post(requestEvent(ns.name, name))).status).to.equal(200);
    expect(await condition()).to.include({ status: 'True', message: 'streams are in sync' });
    expect((await fesList())[0]?.metadata).to.deep.equal(before);
  });

  it('removes the FES object, slot and publication it created when streams are removed, and leaves the manual ones', async () => {
    await patchStreams(null);
    expect(await fesList()).to.deep.equal([]);
    const pubs = await publications();
    expect(pubs).to.not.have.property(SLOT);
    expect(pubs['fes_foo_manual']).to.deep.equal(['public.other']);
    expect(await patroniSlots()).to.not.have.property(SLOT);
    await eventually(
      'Patroni drops the slot',
      async () => ((await slots()).some((s) => s.startsWith(`${SLOT} `)) ? undefined : true),
      60_000,
    );
    expect(await slots()).to.include('fes_foo_manual logical pgoutput foo');
    expect(await patroniSlots()).to.have.property('fes_foo_manual');
  });
});
