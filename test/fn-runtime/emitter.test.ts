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

  it('goes on when the sink has the event but does not answer in time, and says so', async () => {
    sink.answer = 'hang';
    const late: unknown[] = [];
    await createEmitter(sink.url, 'pgfn/test', { timeoutMs: 300, onTimeout: (e) => late.push(e) })('dev.pgfn.test', 'ns/a', {});
    expect(late).to.deep.equal([{ type: 'dev.pgfn.test', subject: 'ns/a', timeoutMs: 300 }]);
    expect(sink.received, 'the event reached the sink').to.have.length(1);
  });

  it('fails when the sink takes no event in time', async () => {
    // A server that accepts connections and never reads: the request cannot be sent whole.
    const { createServer: tcp } = await import('node:net');
    const stuck = tcp(() => undefined);
    await new Promise<void>((resolve) => stuck.listen(0, '127.0.0.1', () => resolve()));
    try {
      const port = (stuck.address() as AddressInfo).port;
      const big = { blob: 'x'.repeat(64 * 1024 * 1024) }; // more than the socket buffers hold
      const err = await createEmitter(`http://127.0.0.1:${port}/`, 'pgfn/test', { timeoutMs: 300 })('dev.pgfn.test', 'ns/a', big).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).to.equal(`the event sink http://127.0.0.1:${port} took no event within 300 ms`);
    } finally {
      stuck.close();
    }
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
