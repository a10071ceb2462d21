import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { expect } from 'chai';
import { CloudEvent, HTTP } from 'cloudevents';
import { gzipSync } from 'node:zlib';
import {
  RetryableError,
  TerminalError,
  createCloudEventServer,
  createLogger,
  createMetrics,
  type CloudEventAppOptions,
  type EventHandler,
} from '@pgfn/fn-runtime';

// The node:http server every function's process (and every function test, through startFunction) serves.
const RECEIVERS: [string, (opts: CloudEventAppOptions) => Server][] = [
  ['createCloudEventServer', (opts) => createCloudEventServer(opts).listen(0, '127.0.0.1')],
];

for (const [receiver, listen] of RECEIVERS)
  describe(receiver, () => {
    let server: Server;
    let base: string;
    let seen: CloudEvent<unknown>[] = [];
    let behaviour: 'ok' | 'ignored' | 'retry' | 'terminal' = 'ok';
    const handle: EventHandler = (event) => {
      seen.push(event as CloudEvent<unknown>);
      if (behaviour === 'retry') return Promise.reject(new RetryableError('apiserver unavailable'));
      if (behaviour === 'terminal') return Promise.reject(new TerminalError('bad spec'));
      return Promise.resolve(behaviour);
    };

    before(async () => {
      server = listen({ fn: 'test', handle, log: createLogger('test', 'silent'), metrics: createMetrics('test', false) });
      await new Promise((r) => server.once('listening', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => {
      server.close();
    });
    beforeEach(() => {
      seen = [];
      behaviour = 'ok';
    });

    const event = new CloudEvent({
      type: 'dev.knative.apiserver.resource.add',
      source: 'test',
      subject: '/apis/acid.zalan.do/v1/namespaces/ns/postgresqls/acid-a',
      data: { metadata: { name: 'acid-a' } },
      kind: 'postgresql',
    });
    const post = async (message: { headers: Record<string, unknown>; body: unknown }): Promise<Response> =>
      fetch(base, { method: 'POST', headers: message.headers as Record<string, string>, body: message.body as string });

    it('accepts a binary-mode CloudEvent and passes its extensions and data', async () => {
      const res = await post(HTTP.binary(event));
      expect(res.status).to.equal(200);
      expect(seen).to.have.length(1);
      expect(seen[0]?.['kind']).to.equal('postgresql');
      expect(seen[0]?.data).to.deep.equal({ metadata: { name: 'acid-a' } });
    });

    it('accepts a structured-mode CloudEvent', async () => {
      const res = await post(HTTP.structured(event));
      expect(res.status).to.equal(200);
      expect(seen[0]?.type).to.equal('dev.knative.apiserver.resource.add');
    });

    const malformed: [string, Record<string, string>, string, RegExp][] = [
      ['plain JSON without ce- headers', { 'content-type': 'application/json' }, '{"a":1}', /not a CloudEvent/],
      [
        'binary mode without ce-type',
        { 'ce-id': '1', 'ce-source': 's', 'ce-specversion': '1.0', 'content-type': 'application/json' },
        '{}',
        /invalid CloudEvent/,
      ],
      ['structured mode with broken JSON', { 'content-type': 'application/cloudevents+json' }, '{"specversion":', /invalid CloudEvent/],
    ];
    for (const [what, headers, body, reason] of malformed) {
      it(`answers 400 with a reason for ${what}`, async () => {
        const res = await fetch(base, { method: 'POST', headers, body });
        expect(res.status).to.equal(400);
        expect(((await res.json()) as { error: string }).error).to.match(reason);
        expect(seen).to.have.length(0);
      });
    }

    it('answers 503 for a retryable failure, 200 for a terminal one, 202 for an ignored event', async () => {
      behaviour = 'retry';
      expect((await post(HTTP.binary(event))).status).to.equal(503);
      behaviour = 'terminal';
      const terminal = await post(HTTP.binary(event));
      expect(terminal.status).to.equal(200);
      behaviour = 'ignored';
      const ignored = await post(HTTP.binary(event));
      expect(ignored.status).to.equal(202);
      // Handled: no body (Knative's filter takes a non-empty answer that is not a CloudEvent as a failed
      // delivery and redelivers it), the outcome in a header.
      expect([terminal.headers.get('pgfn-outcome'), ignored.headers.get('pgfn-outcome')]).to.deep.equal(['terminal', 'ignored']);
      expect([await terminal.text(), await ignored.text()]).to.deep.equal(['', '']);
    });

    it('serves /healthz, /readyz and Prometheus /metrics counting events by type and outcome', async () => {
      await post(HTTP.binary(event));
      expect((await fetch(`${base}/healthz`)).status).to.equal(200);
      expect((await fetch(`${base}/readyz`)).status).to.equal(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).to.match(/pgfn_events_total\{type="dev\.knative\.apiserver\.resource\.add",outcome="ok",fn="test"\} [1-9]\d*/);
      expect(metrics).to.include('pgfn_handler_duration_seconds_bucket');
    });

    it('accepts an event carrying a 2 MiB object (the apiserver stores objects up to ~1.5 MiB)', async () => {
      const big = new CloudEvent({ type: 't', source: 's', data: { blob: 'x'.repeat(2 * 1024 * 1024) } });
      expect((await post(HTTP.structured(big))).status).to.equal(200);
    });

    it('accepts a gzip-compressed body', async () => {
      const message = HTTP.structured(event);
      const res = await fetch(base, {
        method: 'POST',
        headers: { ...(message.headers as Record<string, string>), 'content-encoding': 'gzip' },
        body: gzipSync(String(message.body)),
      });
      expect(res.status).to.equal(200);
      expect(seen[0]?.type).to.equal('dev.knative.apiserver.resource.add');
    });

    it('refuses a body beyond 8 MiB with 413 and answers 404 elsewhere', async () => {
      const huge = new CloudEvent({ type: 't', source: 's', data: { blob: 'x'.repeat(9 * 1024 * 1024) } });
      expect((await post(HTTP.structured(huge))).status).to.equal(413);
      expect(seen).to.have.length(0);
      expect((await fetch(`${base}/nothing`)).status).to.equal(404);
      expect((await fetch(`${base}/healthz/`)).status).to.equal(200);
    });
  });

describe('process metrics of a function (ADR 0143)', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  async function start(): Promise<{ base: string; registered: () => Promise<boolean> }> {
    const metrics = createMetrics('test', true);
    const server = createCloudEventServer({
      fn: 'test',
      handle: () => Promise.resolve('ok'),
      log: createLogger('test', 'silent'),
      metrics,
    });
    servers.push(server.listen(0, '127.0.0.1'));
    await new Promise((r) => server.once('listening', r));
    const registered = async (): Promise<boolean> =>
      (await metrics.registry.getMetricsAsJSON()).some((m) => m.name === 'pgfn_process_cpu_seconds_total');
    return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, registered };
  }

  it('are set up after the first answer, not before it', async () => {
    const { base, registered } = await start();
    expect(await registered(), 'not at start').to.equal(false);
    const event = new CloudEvent({ type: 't', source: 's', data: {} });
    const message = HTTP.binary(event);
    const res = await fetch(base, { method: 'POST', headers: message.headers as Record<string, string>, body: message.body as string });
    expect(res.status).to.equal(200);
    const deadline = Date.now() + 10_000;
    while (!(await registered()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(await registered(), 'after the first answer').to.equal(true);
  });

  it('are in the first scrape when no event came before it', async () => {
    const { base, registered } = await start();
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).to.include('pgfn_process_cpu_seconds_total');
    expect(await registered()).to.equal(true);
  });
});
