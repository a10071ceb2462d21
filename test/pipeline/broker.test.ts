import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  LocalBroker,
  loadKustomization,
  triggersOf,
  type DeliverySpec,
  type Destination,
  type ResolveDestination,
  type SubscriptionsApiFilter,
  type TriggerManifest,
} from '@pgfn/pipeline';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}
type Answer = { status: number; body?: string; headers?: Record<string, string>; delayMs?: number };

/** A subscriber whose answers are scripted per path: the n-th request gets answers[n] (the last repeats). */
class Subscriber {
  readonly received: Received[] = [];
  private readonly scripts = new Map<string, Answer[]>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const n = this.received.filter((r) => r.path === path).length;
        this.received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const script = this.scripts.get(path) ?? [{ status: 200 }];
        const answer = script[Math.min(n, script.length - 1)] ?? { status: 200 };
        setTimeout(() => {
          if (!res.destroyed) res.writeHead(answer.status, answer.headers).end(answer.body ?? '');
        }, answer.delayMs ?? 0);
      });
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  script(path: string, answers: Answer[]): string {
    this.scripts.set(path, answers);
    return `${this.url}${path}`;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return; // never started: no close callback would come
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

const trigger = (name: string, uri: string, filters: SubscriptionsApiFilter[], delivery?: DeliverySpec): TriggerManifest => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Trigger',
  metadata: { name, namespace: 'pgfn-system' },
  spec: { broker: 'pgfn', filters, subscriber: { uri }, ...(delivery === undefined ? {} : { delivery }) },
});

const byUri: ResolveDestination = (dest) =>
  dest.uri === undefined
    ? undefined
    : ({ describe: dest.uri, acquire: () => Promise.resolve({ url: dest.uri ?? '', release: () => undefined }) } satisfies Destination);

const binary = (attrs: Record<string, string>, data: unknown): { headers: Record<string, string>; body: string } => ({
  headers: { 'content-type': 'application/json', ...Object.fromEntries(Object.entries(attrs).map(([k, v]) => [`ce-${k}`, v])) },
  body: JSON.stringify(data),
});

const pgAdd = {
  specversion: '1.0',
  id: 'e-1',
  source: 'https://127.0.0.1:6443',
  type: 'dev.knative.apiserver.resource.add',
  subject: '/apis/acid.zalan.do/v1/namespaces/ns/postgresqls/acid-a',
  kind: 'postgresql',
  name: 'acid-a',
  namespace: 'ns',
};

describe('LocalBroker', function () {
  this.timeout(20_000);
  const sub = new Subscriber();
  let broker: LocalBroker | undefined;
  before(async () => sub.start());
  after(async () => sub.stop());
  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
    sub.received.length = 0;
  });

  const start = async (triggers: TriggerManifest[]): Promise<LocalBroker> => {
    broker = await LocalBroker.start({ triggers, resolve: byUri });
    return broker;
  };
  const post = async (b: LocalBroker, message: { headers: Record<string, string>; body: string }): Promise<number> =>
    (await fetch(b.url, { method: 'POST', ...message })).status;

  it('accepts with 202 and delivers to the Triggers whose filters pass, in binary mode, bytes unchanged', async () => {
    const b = await start([
      trigger('pg', sub.script('/pg', [{ status: 200 }]), [{ exact: { kind: 'postgresql' } }]),
      trigger('pods', sub.script('/pods', [{ status: 200 }]), [{ exact: { kind: 'Pod' } }]),
      trigger('all-apiserver', sub.script('/all', [{ status: 200 }]), [{ prefix: { type: 'dev.knative.apiserver.' } }]),
    ]);
    const data = { kind: 'postgresql', metadata: { name: 'acid-a', labels: { x: 'ünïcode' } }, spec: { numberOfInstances: 2 } };
    expect(await post(b, binary(pgAdd, data))).to.equal(202);
    await b.idle();
    expect(sub.at('/pods')).to.have.length(0);
    for (const path of ['/pg', '/all']) {
      const [got] = sub.at(path);
      expect(got?.headers['ce-type']).to.equal('dev.knative.apiserver.resource.add');
      expect(got?.headers['ce-kind']).to.equal('postgresql');
      expect(got?.headers['ce-namespace']).to.equal('ns');
      expect(got?.headers['ce-subject']).to.equal(pgAdd.subject);
      expect(got?.headers['content-type']).to.equal('application/json');
      expect(got?.headers['prefer']).to.equal('reply');
      expect(JSON.parse(got?.body ?? '')).to.deep.equal(data);
    }
  });

  it('accepts structured mode and delivers it in binary mode', async () => {
    const b = await start([trigger('pg', sub.script('/s', [{ status: 200 }]), [{ exact: { kind: 'postgresql' } }])]);
    const status = await post(b, {
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ ...pgAdd, datacontenttype: 'application/json', data: { a: 1 } }),
    });
    expect(status).to.equal(202);
    await b.idle();
    const [got] = sub.at('/s');
    expect(got?.headers['ce-id']).to.equal('e-1');
    expect(got?.body).to.equal('{"a":1}');
  });

  it('refuses what is not a CloudEvent with 400 and a reason', async () => {
    const b = await start([]);
    const res = await fetch(b.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).to.equal(400);
    expect(await res.text()).to.match(/not a CloudEvent/);
    const missing = await fetch(b.url, { method: 'POST', headers: { 'ce-type': 'x', 'ce-specversion': '1.0' }, body: '' });
    expect(await missing.text()).to.match(/missing id, source/);
  });

  it("takes an answer with a body that is not a CloudEvent as a failed delivery, as Knative's filter does", async () => {
    const uri = sub.script('/chatty', [{ status: 200, body: '{"outcome":"ok"}' }, { status: 202 }]);
    const b = await start([trigger('chatty', uri, [{ exact: { kind: 'postgresql' } }], { retry: 2, backoffDelay: 'PT0.01S' })]);
    expect(await post(b, binary(pgAdd, {}))).to.equal(202);
    await b.idle();
    const [d] = b.deliveries();
    expect(d?.outcome).to.equal('delivered');
    expect(d?.attempts.map((a) => a.status)).to.deep.equal([502, 202]);
  });

  it('retries 5xx with exponential backoff until the subscriber succeeds', async () => {
    const uri = sub.script('/flaky', [{ status: 503 }, { status: 500 }, { status: 502 }, { status: 200 }]);
    const b = await start([
      trigger('flaky', uri, [{ exact: { kind: 'postgresql' } }], { retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT0.05S' }),
    ]);
    await post(b, binary(pgAdd, {}));
    await b.idle();
    expect(sub.at('/flaky')).to.have.length(4);
    expect(b.deliveries()[0]).to.include({ outcome: 'delivered' });
    // the waits chosen: 50, 100, 200 ms (the wall-clock gaps are a bench figure: bench/pipeline.ts)
    expect(b.deliveries()[0]?.attempts.map((a) => a.backoffMs)).to.deep.equal([50, 100, 200, undefined]);
    expect(b.deliveries()[0]?.attempts.map((a) => a.status)).to.deep.equal([503, 500, 502, 200]);
  });

  it('retries 404, 408, 409 and 429 but not other 4xx', async () => {
    const b = await start([
      trigger('t404', sub.script('/404', [{ status: 404 }, { status: 200 }]), [{ exact: { kind: 'postgresql' } }], { retry: 2 }),
      trigger('t408', sub.script('/408', [{ status: 408 }, { status: 200 }]), [{ exact: { kind: 'postgresql' } }], { retry: 2 }),
      trigger('t409', sub.script('/409', [{ status: 409 }, { status: 200 }]), [{ exact: { kind: 'postgresql' } }], { retry: 2 }),
      trigger('t429', sub.script('/429', [{ status: 429 }, { status: 200 }]), [{ exact: { kind: 'postgresql' } }], { retry: 2 }),
      trigger('t400', sub.script('/400', [{ status: 400 }, { status: 200 }]), [{ exact: { kind: 'postgresql' } }], { retry: 2 }),
      trigger('t403', sub.script('/403', [{ status: 403 }, { status: 200 }]), [{ exact: { kind: 'postgresql' } }], { retry: 2 }),
      trigger('t422', sub.script('/422', [{ status: 422 }, { status: 200 }]), [{ exact: { kind: 'postgresql' } }], { retry: 2 }),
    ]);
    await post(b, binary(pgAdd, {}));
    await b.idle();
    const counts = Object.fromEntries(['/404', '/408', '/409', '/429', '/400', '/403', '/422'].map((p) => [p, sub.at(p).length]));
    expect(counts).to.deep.equal({ '/404': 2, '/408': 2, '/409': 2, '/429': 2, '/400': 1, '/403': 1, '/422': 1 });
  });

  it('sends an event refused with 4xx to the dead-letter sink at once, annotated with who refused it and why', async () => {
    const dls = sub.script('/dls', [{ status: 202 }]);
    const uri = sub.script('/refuse', [{ status: 400, body: 'spec.teamId: must not be empty' }]);
    const b = await start([
      trigger('refuse', uri, [{ exact: { kind: 'postgresql' } }], {
        retry: 3,
        backoffPolicy: 'exponential',
        backoffDelay: 'PT0.01S',
        deadLetterSink: { uri: dls },
      }),
    ]);
    await post(b, binary(pgAdd, { x: 1 }));
    await b.idle();
    expect(sub.at('/refuse')).to.have.length(1);
    const [dead] = sub.at('/dls');
    expect(dead?.headers['ce-id']).to.equal('e-1');
    expect(dead?.headers['ce-knativeerrorcode']).to.equal('400');
    expect(dead?.headers['ce-knativeerrordest']).to.equal(uri);
    expect(Buffer.from(String(dead?.headers['ce-knativeerrordata']), 'base64').toString()).to.equal('spec.teamId: must not be empty');
    expect(dead?.body).to.equal('{"x":1}');
    expect(b.deliveries()[0]?.outcome).to.equal('dead-lettered');
  });

  it('dead-letters after the last retry of a subscriber that keeps failing', async () => {
    const dls = sub.script('/dls2', [{ status: 200 }]);
    const uri = sub.script('/down', [{ status: 500 }]);
    const b = await start([
      trigger('down', uri, [{ exact: { kind: 'postgresql' } }], {
        retry: 2,
        backoffPolicy: 'linear',
        backoffDelay: 'PT0.02S',
        deadLetterSink: { uri: dls },
      }),
    ]);
    await post(b, binary(pgAdd, {}));
    await b.idle();
    expect(sub.at('/down')).to.have.length(3);
    expect(sub.at('/dls2')[0]?.headers['ce-knativeerrorcode']).to.equal('500');
  });

  it('retries a subscriber that does not answer within the timeout, and one that refuses connections', async () => {
    const slow = sub.script('/slow', [{ status: 200, delayMs: 500 }, { status: 200 }]);
    const b = await start([
      trigger('slow', slow, [{ exact: { kind: 'postgresql' } }], { retry: 1, timeout: 'PT0.1S' }),
      trigger('gone', 'http://127.0.0.1:1/', [{ exact: { kind: 'postgresql' } }], {
        retry: 2,
        backoffPolicy: 'exponential',
        backoffDelay: 'PT0.01S',
      }),
    ]);
    await post(b, binary(pgAdd, {}));
    await b.idle();
    const records = Object.fromEntries(b.deliveries().map((d) => [d.trigger, d]));
    expect(records['slow']?.outcome).to.equal('delivered');
    expect(records['slow']?.attempts[0]?.error).to.match(/timed out after 100 ms/);
    expect(records['gone']?.outcome).to.equal('failed');
    expect(records['gone']?.attempts).to.have.length(3);
    expect(records['gone']?.attempts.every((a) => a.status === undefined && a.error !== undefined)).to.equal(true);
  });

  it('feeds a reply that is a CloudEvent back into the broker', async () => {
    const replier = sub.script('/replier', [
      {
        status: 200,
        headers: {
          'ce-specversion': '1.0',
          'ce-id': 'r-1',
          'ce-source': 'test',
          'ce-type': 'dev.pgfn.cluster.ready',
          'ce-subject': 'ns/acid-a',
          'content-type': 'application/json',
        },
        body: '{"namespace":"ns","name":"acid-a"}',
      },
    ]);
    const listener = sub.script('/listener', [{ status: 200 }]);
    const b = await start([
      trigger('replier', replier, [{ exact: { kind: 'postgresql' } }]),
      trigger('listener', listener, [{ exact: { type: 'dev.pgfn.cluster.ready' } }]),
    ]);
    await post(b, binary(pgAdd, {}));
    await b.idle();
    const [got] = sub.at('/listener');
    expect(got?.headers['ce-id']).to.equal('r-1');
    expect(JSON.parse(got?.body ?? '')).to.deep.equal({ namespace: 'ns', name: 'acid-a' });
  });

  it('logs one JSON line per delivery as it happens, and still after stop() for a delivery in flight (ADR 0133)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgfn-broker-log-'));
    const logFile = join(dir, 'broker.jsonl');
    const lines = (): { trigger?: string; id?: string; outcome?: string }[] =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { trigger?: string; id?: string; outcome?: string });
    try {
      const slow = sub.script('/slow', [{ status: 200, delayMs: 300 }]);
      broker = await LocalBroker.start({ triggers: [trigger('pg', slow, [{ exact: { kind: 'postgresql' } }])], resolve: byUri, logFile });
      await post(broker, binary(pgAdd, {}));
      await broker.idle();
      expect(lines().map((l) => [l.trigger, l.id, l.outcome])).to.deep.equal([['pg', 'e-1', 'delivered']]);
      await post(broker, binary({ ...pgAdd, id: 'e-2' }, {}));
      await broker.stop();
      await broker.idle();
      expect(lines().map((l) => l.id)).to.deep.equal(['e-1', 'e-2']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('routes with the Triggers shipped in knative/ and their delivery specs', async () => {
    const shipped = triggersOf(loadKustomization());
    const resolve: ResolveDestination = (dest) => {
      const uri = `${sub.url}/${dest.ref?.name ?? 'none'}`;
      return { describe: uri, acquire: () => Promise.resolve({ url: uri, release: () => undefined }) };
    };
    broker = await LocalBroker.start({ triggers: shipped, resolve });
    expect(broker.triggerNames.sort()).to.deep.equal([
      'pgfn-backup-verify',
      'pgfn-reconcile',
      'pgfn-rolling-update',
      'pgfn-team-role-sync',
    ]);
    sub.script('/pgfn-reconcile', [{ status: 503 }, { status: 200 }]);
    await post(broker, binary(pgAdd, {}));
    await broker.idle();
    expect(sub.at('/pgfn-reconcile')).to.have.length(2);
    // team-role-sync hears of a changed spec from reconcile's dev.pgfn.cluster.updated (ADR 0132)
    expect(sub.at('/pgfn-team-role-sync')).to.have.length(0);
    expect(sub.at('/pgfn-rolling-update')).to.have.length(0);
    // the shipped reconcile Trigger waits backoffDelay (0.5 s) before its first retry
    const reconcile = broker.deliveries().find((d) => d.trigger === 'pgfn-reconcile');
    expect(reconcile?.attempts.map((a) => a.backoffMs)).to.deep.equal([500, undefined]);
  });
});
