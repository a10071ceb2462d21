import { expect } from 'chai';
import type { Stream } from '@pgfn/api';
import {
  fabricEventStream,
  fesName,
  planStreams,
  slotName,
  type FabricEventStream,
  type StreamsLive,
  type StreamsTarget,
} from '../../functions/reconcile/src/streams-plan.js';
import { publicationSql } from '../../functions/reconcile/src/streams-sync.js';

const stream = (over: Partial<Stream> = {}): Stream => ({
  applicationId: 'my-app',
  database: 'foo',
  tables: { 'data.orders': { eventType: 'order-event' }, items: { eventType: 'item-event', idColumn: 'item_id' } },
  ...over,
});
const target = (streams: Stream[]): StreamsTarget => ({
  namespace: 'ns',
  cluster: 'acid-s',
  streams,
  labels: { 'cluster-name': 'acid-s', application: 'spilo' },
  ownerReferences: [{ apiVersion: 'acid.zalan.do/v1', kind: 'postgresql', name: 'acid-s', uid: 'u1', controller: true }],
  userSecretName: 'fes-user.acid-s.credentials.postgresql.acid.zalan.do',
});
const empty: StreamsLive = { databases: ['foo', 'postgres'], publications: [], patroniSlots: {}, fes: [] };
const SLOT = 'fes_foo_my_app';

describe('streams planner (pure)', () => {
  it('names slots and FES objects as upstream (dashes of the applicationId become underscores)', () => {
    expect(slotName('foo', 'my-app')).to.equal('fes_foo_my_app');
    expect(fesName('acid-s', 'my-app')).to.match(/^acid-s-[0-9a-f]{5}$/);
    expect(fesName('acid-s', 'my-app')).to.equal(fesName('acid-s', 'my-app'));
    expect(fesName('acid-s', 'other')).to.not.equal(fesName('acid-s', 'my-app'));
  });

  it('creates publication, Patroni slot and FES object for a new stream', () => {
    const plan = planStreams(target([stream()]), empty);
    expect(plan.publications).to.deep.equal([{ kind: 'create', database: 'foo', name: SLOT, tables: ['data.orders', 'public.items'] }]);
    expect(plan.slotPatch).to.deep.equal({ [SLOT]: { type: 'logical', database: 'foo', plugin: 'pgoutput' } });
    expect(plan.apply).to.have.length(1);
    expect(plan.apply[0]?.metadata?.ownerReferences?.[0]?.uid).to.equal('u1');
    expect(plan.deleteFes).to.deep.equal([]);
  });

  it('writes nothing when everything is in place', () => {
    const t = target([stream()]);
    const live: StreamsLive = {
      ...empty,
      publications: [{ database: 'foo', name: SLOT, tables: ['data.orders', 'public.items'], ours: true }],
      patroniSlots: { [SLOT]: { type: 'logical', database: 'foo', plugin: 'pgoutput' } },
      fes: [fabricEventStream(t, 'my-app')],
    };
    const plan = planStreams(t, live);
    expect(plan).to.deep.equal({ publications: [], slotPatch: {}, apply: [], deleteFes: [], problems: [] });
  });

  it('alters the publication when a table leaves the manifest, and the FES object with it', () => {
    const before = target([stream()]);
    const after = target([stream({ tables: { 'data.orders': { eventType: 'order-event' } } })]);
    const live: StreamsLive = {
      ...empty,
      publications: [{ database: 'foo', name: SLOT, tables: ['data.orders', 'public.items'], ours: true }],
      patroniSlots: { [SLOT]: { type: 'logical', database: 'foo', plugin: 'pgoutput' } },
      fes: [fabricEventStream(before, 'my-app', 'acid-s-kept')],
    };
    const plan = planStreams(after, live);
    expect(plan.publications).to.deep.equal([{ kind: 'alter', database: 'foo', name: SLOT, tables: ['data.orders'] }]);
    expect(plan.slotPatch).to.deep.equal({});
    expect(plan.apply.map((f) => f.metadata?.name)).to.deep.equal(['acid-s-kept']);
    expect(plan.apply[0]?.spec.eventStreams).to.have.length(1);
  });

  it('removes what it created when streams are removed, and leaves what others created', () => {
    const t = target([stream()]);
    const live: StreamsLive = {
      ...empty,
      publications: [
        { database: 'foo', name: SLOT, tables: ['public.items'], ours: true },
        { database: 'foo', name: 'fes_foo_manual', tables: ['public.items'], ours: false },
      ],
      patroniSlots: {
        [SLOT]: { type: 'logical', database: 'foo', plugin: 'pgoutput' },
        fes_foo_manual: { type: 'logical', database: 'foo', plugin: 'pgoutput' },
        other: { type: 'physical' },
      },
      fes: [fabricEventStream(t, 'my-app')],
    };
    const plan = planStreams(target([]), live);
    expect(plan.publications).to.deep.equal([{ kind: 'drop', database: 'foo', name: SLOT }]);
    expect(plan.slotPatch).to.deep.equal({ [SLOT]: null });
    expect(plan.deleteFes).to.deep.equal([fesName('acid-s', 'my-app')]);
    expect(plan.apply).to.deep.equal([]);
  });

  it('drops a slot named only by an FES object it owns (publication already gone)', () => {
    const live: StreamsLive = {
      ...empty,
      patroniSlots: { [SLOT]: { type: 'logical', database: 'foo', plugin: 'pgoutput' } },
      fes: [fabricEventStream(target([stream()]), 'my-app')],
    };
    expect(planStreams(target([]), live).slotPatch).to.deep.equal({ [SLOT]: null });
  });

  it('skips a stream whose database does not exist, with a problem', () => {
    const plan = planStreams(target([stream({ database: 'missing' })]), empty);
    expect(plan.publications).to.deep.equal([]);
    expect(plan.slotPatch).to.deep.equal({});
    expect(plan.problems[0]).to.contain('"missing"');
  });

  it('merges the tables of streams sharing database and applicationId into one publication and FES', () => {
    const plan = planStreams(
      target([stream({ tables: { a: { eventType: 'a' } } }), stream({ tables: { b: { eventType: 'b' } }, batchSize: 50 })]),
      empty,
    );
    expect(plan.publications).to.deep.equal([{ kind: 'create', database: 'foo', name: SLOT, tables: ['public.a', 'public.b'] }]);
    expect(plan.apply).to.have.length(1);
    expect(plan.apply[0]?.spec.eventStreams).to.have.length(2);
  });

  it('builds event streams as upstream: source, sink with eventType and batch size, filter, recovery', () => {
    const fes: FabricEventStream = fabricEventStream(
      target([
        stream({
          tables: { 'data.orders': { eventType: 'order-event', payloadColumn: 'payload' } },
          filter: { 'data.orders': '[?(@.status == "x")]' },
          batchSize: 100,
          enableRecovery: true,
          cpu: '250m',
        }),
      ]),
      'my-app',
    );
    expect(fes.metadata?.annotations).to.deep.equal({ 'fes.zalando.org/FES_CPU': '250m' });
    expect(fes.spec.eventStreams[0]).to.deep.equal({
      flow: { type: 'PostgresWalToGenericNakadiEvent', payloadColumn: 'payload' },
      sink: { type: 'Nakadi', eventType: 'order-event', maxBatchSize: 100 },
      source: {
        type: 'PostgresLogicalReplication',
        schema: 'data',
        table: { name: 'orders' },
        filter: '[?(@.status == "x")]',
        jdbcConnection: {
          jdbcUrl: 'jdbc:postgresql://acid-s.ns/foo?user=fes_user&ssl=true&sslmode=require',
          slotName: SLOT,
          pluginType: 'pgoutput',
          databaseAuthentication: {
            type: 'DatabaseAuthenticationSecret',
            name: 'fes-user.acid-s.credentials.postgresql.acid.zalan.do',
            userKey: 'username',
            passwordKey: 'password',
          },
        },
      },
      recovery: { type: 'DeadLetter', sink: { type: 'Nakadi', eventType: 'order-event-dead-letter-queue', maxBatchSize: 100 } },
    });
    const none = fabricEventStream(target([stream()]), 'my-app');
    expect(none.spec.eventStreams.map((e) => e['recovery'])).to.deep.equal([{ type: 'None' }, { type: 'None' }]);
  });

  it('quotes identifiers in publication statements and marks what it creates', () => {
    expect(publicationSql({ kind: 'create', database: 'foo', name: 'fes_x"y', tables: ['data.or"ders'] })).to.deep.equal([
      `CREATE PUBLICATION "fes_x""y" FOR TABLE "data"."or""ders" WITH (publish = 'insert, update')`,
      `COMMENT ON PUBLICATION "fes_x""y" IS 'pgfn: spec.streams'`,
    ]);
    expect(publicationSql({ kind: 'drop', database: 'foo', name: 'fes_a' })).to.deep.equal(['DROP PUBLICATION IF EXISTS "fes_a"']);
  });
});
