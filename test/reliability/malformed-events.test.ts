// Issue 20, item 5: malformed and hostile CloudEvents posted to the functions' real HTTP servers
// (reconcile, rolling-update, team-role-sync, each with its real handler and real clients against the
// real control plane). What is not a CloudEvent is refused with 4xx and a reason; a CloudEvent whose
// content is garbage (wrong types, path-traversal names, huge values) is ignored, never a 5xx the
// Broker would redeliver for ever; no request leaves the watched namespace; the process keeps serving.
// Every API request of this process is recorded by wrapping the REST client's request method (a spy:
// the requests still go to the real API server).
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { CloudEvent, HTTP } from 'cloudevents';
import { DEFAULT_OPERATOR_CONFIG } from '@pgfn/api';
import { createLogger, createMetrics, eventRecorder, startFunction } from '@pgfn/fn-runtime';
import { KubeClient } from '@pgfn/kube';
import { PatroniClient } from '@pgfn/patroni';
import { createHandler as rollingUpdateHandler } from '../../functions/rolling-update/src/handler.js';
import { RestClient } from '../../shared/kube/src/rest.js';
import { ensureCrds } from '../crds/install.js';
import { startReconcile } from '../reconcile/support.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { startTeamSync } from '../team-role-sync/support.js';

interface Raw {
  readonly what: string;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer;
  /** The statuses acceptable for it. */
  readonly expect: readonly number[];
}

const CE = { 'ce-specversion': '1.0', 'ce-id': 'x-1', 'ce-source': 'test', 'ce-type': 'dev.knative.apiserver.resource.update' };
const STRUCTURED = { 'content-type': 'application/cloudevents+json' };

/** Requests that are not CloudEvents at all: 4xx with a reason. */
const NOT_EVENTS: readonly Raw[] = [
  { what: 'structured, truncated JSON', headers: STRUCTURED, body: '{"specversion":"1.0","id":', expect: [400] },
  { what: 'structured, no id and no source', headers: STRUCTURED, body: '{"specversion":"1.0","type":"t"}', expect: [400] },
  {
    what: 'structured, unknown specversion',
    headers: STRUCTURED,
    body: '{"specversion":"9.9","id":"1","source":"s","type":"t"}',
    expect: [400],
  },
  { what: 'structured, a JSON array', headers: STRUCTURED, body: '[1,2,3]', expect: [400] },
  { what: 'binary without ce-id', headers: { 'ce-specversion': '1.0', 'ce-source': 's', 'ce-type': 't' }, body: '{}', expect: [400] },
  {
    what: 'a batch',
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify([{ specversion: '1.0', id: '1', source: 's', type: 't' }]),
    expect: [400],
  },
  { what: 'plain JSON without ce- headers', headers: { 'content-type': 'application/json' }, body: '{"kind":"postgresql"}', expect: [400] },
  { what: 'gzip that is not gzip', headers: { ...CE, 'content-encoding': 'gzip' }, body: 'not gzip at all', expect: [400] },
  { what: 'an encoding no one reads', headers: { ...CE, 'content-encoding': 'zstd' }, body: '{}', expect: [415] },
  {
    what: 'a 9 MiB body',
    headers: { ...CE, 'content-type': 'application/json' },
    body: Buffer.alloc(9 * 1024 * 1024, 0x61),
    expect: [413],
  },
  {
    what: 'a gzip bomb (64 MiB of zeros)',
    headers: { ...CE, 'content-encoding': 'gzip' },
    body: gzipSync(Buffer.alloc(64 * 1024 * 1024)),
    expect: [413],
  },
];

/** Valid CloudEvents carrying garbage: ignored (2xx) or refused (4xx), never 5xx. */
function garbageEvents(namespace: string): CloudEvent<unknown>[] {
  const update = (attrs: Record<string, unknown>): CloudEvent<unknown> =>
    new CloudEvent({ type: 'dev.knative.apiserver.resource.update', source: 'test', ...attrs });
  const pg = (ns: unknown, name: unknown): Record<string, unknown> => ({ kind: 'postgresql', metadata: { namespace: ns, name } });
  const huge = 'a'.repeat(1024 * 1024);
  return [
    update({ datacontenttype: 'application/json', data: 'a string, not an object' }),
    update({ data: 42 }),
    update({ data: [1, 2, 3] }),
    update({ data: null }),
    update({ data: { kind: { not: 'a string' }, metadata: { name: 7, namespace: [namespace] } } }),
    update({ data: pg('..', 'acid-x') }),
    update({ data: pg(namespace, '..') }),
    update({ data: pg(namespace, '.') }),
    update({ data: pg(namespace, '../../../api/v1/secrets') }),
    update({ data: pg('%2e%2e', 'acid-x') }),
    update({ data: pg(`${namespace}/../kube-system`, 'acid-x') }),
    update({ kind: 'postgresql', namespace: '..', name: 'acid-x', data: {} }),
    update({ data: pg(namespace, huge) }),
    update({ data: pg(namespace, 'ünïcödé') }),
    update({ data: { kind: 'Pod', metadata: { namespace, name: 'p', labels: { 'cluster-name': '..', application: 'spilo' } } } }),
    update({ data: { kind: 'StatefulSet', metadata: { namespace: '..', name: 'x', labels: { 'cluster-name': 'acid-x' } } } }),
    new CloudEvent({ type: 'dev.pgfn.reconcile.requested', source: 'test', subject: '../kube-system/x', data: {} }),
    new CloudEvent({ type: 'dev.pgfn.reconcile.requested', source: 'test', subject: `${namespace}/..`, data: {} }),
    new CloudEvent({ type: 'dev.pgfn.rollingupdate.required', source: 'test', subject: '../../x', data: { namespace: '..', name: '..' } }),
    new CloudEvent({ type: 'dev.knative.apiserver.resource.delete', source: 'test', data: pg('..', '..') }),
  ];
}

interface Target {
  readonly fn: string;
  readonly url: string;
  stop(): Promise<void>;
}

describe('reliability: malformed and hostile CloudEvents to the functions', function () {
  this.timeout(180_000);
  let ns: { name: string; cleanup: () => Promise<void> };
  const paths: string[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called back with .call(this) below
  const original = RestClient.prototype.request;
  const targets: Target[] = [];

  before(async () => {
    const kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'malformed');
    RestClient.prototype.request = function (this: RestClient, req) {
      paths.push(`${req.method} ${req.path}`);
      return original.call(this, req);
    };
    const reconcile = await startReconcile(kc, ns.name);
    targets.push({ fn: 'reconcile', url: reconcile.url, stop: () => reconcile.stop() });
    const teams = await startTeamSync(kc, {
      config: DEFAULT_OPERATOR_CONFIG,
      watchedNamespace: ns.name,
      operatorNamespace: ns.name,
      reach: () => ({ host: '127.0.0.1', port: 1 }),
    });
    targets.push({ fn: 'team-role-sync', url: teams.url, stop: () => teams.stop() });
    const kube = new KubeClient(kc);
    const log = createLogger('rolling-update-test', process.env['PGFN_TEST_LOG'] ?? 'silent');
    const rolling = await startFunction({
      fn: 'rolling-update',
      handle: rollingUpdateHandler({
        kube,
        patroni: new PatroniClient(),
        loadConfig: () => Promise.resolve({ config: DEFAULT_OPERATOR_CONFIG, problems: [] }),
        recordEvent: eventRecorder({ kube, component: 'pgfn-rolling-update' }),
        emit: () => Promise.resolve(),
        now: () => new Date(),
        holder: 'test',
        podTimeoutMs: 5_000,
        watchedNamespace: ns.name,
      }),
      log,
      metrics: createMetrics('rolling-update-test', false),
      port: 0,
      host: '127.0.0.1',
    });
    targets.push({ fn: 'rolling-update', url: rolling.url, stop: () => new Promise((r) => rolling.server.close(() => r())) });
  });
  after(async () => {
    RestClient.prototype.request = original;
    for (const t of targets) await t.stop();
    await ns.cleanup();
  });

  it('refuses non-events with 4xx, ignores garbage inside CloudEvents, stays in its namespace, keeps serving', async () => {
    const failures: string[] = [];
    for (const t of targets) {
      paths.length = 0;
      for (const raw of NOT_EVENTS) {
        const res = await fetch(t.url, { method: 'POST', headers: raw.headers, body: raw.body });
        const text = await res.text();
        if (!raw.expect.includes(res.status)) failures.push(`${t.fn}, ${raw.what}: ${res.status} ${text.slice(0, 200)}`);
        else if (!/"error":"[^"]+/.test(text)) failures.push(`${t.fn}, ${raw.what}: no reason given: ${text.slice(0, 200)}`);
      }
      for (const [i, event] of garbageEvents(ns.name).entries()) {
        for (const mode of ['binary', 'structured'] as const) {
          const msg = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
          const res = await fetch(t.url, { method: 'POST', headers: msg.headers as Record<string, string>, body: msg.body as string });
          if (res.status >= 500) failures.push(`${t.fn}, garbage event ${i} (${mode}): ${res.status} ${(await res.text()).slice(0, 300)}`);
        }
      }
      // a sound event about a cluster of the namespace: the spy sees the function's reads there
      const sound = HTTP.binary(
        new CloudEvent({
          type: 'dev.knative.apiserver.resource.update',
          source: 'test',
          data: { kind: 'postgresql', metadata: { namespace: ns.name, name: 'acid-absent' } },
        }),
      );
      const answer = await fetch(t.url, { method: 'POST', headers: sound.headers as Record<string, string>, body: sound.body as string });
      if (answer.status >= 300) failures.push(`${t.fn}: a sound event answered ${answer.status}`);
      if (!paths.some((p) => p.includes(`/namespaces/${ns.name}/`))) failures.push(`${t.fn}: no request recorded in ${ns.name}`);
      const outside = paths.filter((p) => !p.includes(`/namespaces/${ns.name}/`) || /\/\.\.?(\/|$)|%2e/i.test(p));
      if (outside.length > 0) failures.push(`${t.fn} read outside namespace ${ns.name}: ${[...new Set(outside)].join(', ')}`);
      const health = await fetch(new URL('/healthz', t.url));
      if (health.status !== 200) failures.push(`${t.fn}: /healthz answered ${health.status} afterwards`);
    }
    expect(failures).to.deep.equal([]);
  });
});
