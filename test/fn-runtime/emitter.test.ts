// The emitter against a local HTTP server standing for the Broker's ingress.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createEmitter } from '@pgfn/fn-runtime';

interface Sink {
  readonly url: string;
  readonly received: { headers: IncomingHttpHeaders; body: string }[];
  /** The status the sink answers, or 'hang' to read the event and never answer. */
  answer: number | 'hang';
  readonly server: Server;
}

async function startSink(): Promise<Sink> {
  const sink: Omit<Sink, 'url' | 'server'> & { url?: string; server?: Server } = { received: [], answer: 202 };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      sink.received.push({ headers: req.headers, body });
      if (sink.answer !== 'hang') res.writeHead(sink.answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return Object.assign(sink, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server });
}

describe('fn-runtime: emitter', () => {
  let sink: Sink;
  beforeEach(async () => {
    sink = await startSink();
  });
  afterEach(() => {
    sink.server.closeAllConnections();
    sink.server.close();
  });

  it('posts a binary-mode CloudEvent and resolves on a 2xx answer', async () => {
    await createEmitter(sink.url, 'pgfn/test')('dev.pgfn.test', 'ns/acid-a', { namespace: 'ns', name: 'acid-a' });
    expect(sink.received).to.have.length(1);
    const [{ headers, body }] = sink.received as [{ headers: IncomingHttpHeaders; body: string }];
    expect(headers).to.include({
      'ce-type': 'dev.pgfn.test',
      'ce-source': 'pgfn/test',
      'ce-subject': 'ns/acid-a',
      'content-type': 'application/json',
    });
    expect(JSON.parse(body)).to.deep.equal({ namespace: 'ns', name: 'acid-a' });
  });

  it('fails when the sink refuses the event, naming the status', async () => {
    for (const status of [404, 500, 503]) {
      sink.answer = status;
      const err = await createEmitter(sink.url, 'pgfn/test')('dev.pgfn.test', 'ns/a', {}).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).to.equal(`the event sink http://127.0.0.1:${new URL(sink.url).port} answered ${status}`);
    }
  });

  it('fails, instead of waiting forever, when the sink does not answer', async () => {
    sink.answer = 'hang';
    const err = await createEmitter(sink.url, 'pgfn/test', 300)('dev.pgfn.test', 'ns/a', {}).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/did not answer within 300 ms$/);
    expect(sink.received, 'the event reached the sink').to.have.length(1);
  });

  it('fails when nothing listens, and drops events on purpose without a sink', async () => {
    sink.server.close();
    const err = await createEmitter(sink.url, 'pgfn/test')('dev.pgfn.test', 'ns/a', {}).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/ECONNREFUSED/);
    await createEmitter(undefined, 'pgfn/test')('dev.pgfn.test', 'ns/a', {});
    await createEmitter('', 'pgfn/test')('dev.pgfn.test', 'ns/a', {});
  });
});
