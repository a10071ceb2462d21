// KubeClient speaks HTTP/2 to the API server (ADR 0157): one connection for all of a process's requests,
// however many run at once, and a new one when the server sends GOAWAY, cuts the connection, or stops
// answering. Against the real API server, behind an HTTP/2 front that misbehaves on demand (h2-front.ts).
import { expect } from 'chai';
import type * as k8s from '@kubernetes/client-node';
import { KubeClient, type RetryPolicy } from '@pgfn/kube';
import { adminConfig, createNamespace } from '../support/kube.js';
import { startH2Front, type H2Front } from './h2-front.js';

describe('KubeClient over HTTP/2', function () {
  this.timeout(60_000);
  let ns: { name: string; cleanup: () => Promise<void> };
  let front: H2Front;
  const SECRET = { apiVersion: 'v1', kind: 'Secret', name: 'over-h2' } as const;

  before(async () => {
    const kc = adminConfig();
    ns = await createNamespace(kc, 'kube-h2');
    await new KubeClient(kc).apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: SECRET.name, namespace: ns.name },
      stringData: { k: 'v' },
    });
    front = await startH2Front();
  });
  after(async () => {
    await front?.close();
    await ns?.cleanup();
  });
  beforeEach(() => {
    front.sessions.length = 0;
    front.seen.length = 0;
    front.faults.length = 0;
  });

  const client = (retry: Partial<RetryPolicy> = {}): KubeClient =>
    new KubeClient(front.kubeConfig, { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5, ...retry } });
  const read = (kube: KubeClient): Promise<k8s.V1Secret | undefined> => kube.get<k8s.V1Secret>({ ...SECRET, namespace: ns.name });

  it('carries 40 concurrent requests on one connection, negotiated as h2', async () => {
    const kube = client();
    const answers = await Promise.all(Array.from({ length: 40 }, () => read(kube)));
    expect(answers.map((s) => s?.metadata?.name)).to.deep.equal(Array(40).fill(SECRET.name));
    expect(front.sessions).to.deep.equal([{ alpn: 'h2' }]);
    expect(front.seen).to.have.length(40);
  });

  it('answers 600 concurrent requests to the API server itself, more than its streams per connection', async () => {
    const kube = new KubeClient(adminConfig());
    const answers = await Promise.all(Array.from({ length: 600 }, () => read(kube)));
    expect(answers.every((s) => s?.metadata?.name === SECRET.name)).to.equal(true);
  });

  it('after GOAWAY, sends the next requests on a new connection', async () => {
    const kube = client();
    await read(kube);
    front.faults.push('goaway');
    expect((await read(kube))?.metadata?.name).to.equal(SECRET.name);
    expect((await read(kube))?.metadata?.name).to.equal(SECRET.name);
    expect(front.sessions).to.have.length(2);
    expect(front.seen).to.have.length(3);
  });

  it('retries a request whose connection was cut, on a new connection', async () => {
    const kube = client();
    await read(kube);
    front.faults.push('cut');
    expect((await read(kube))?.metadata?.name).to.equal(SECRET.name);
    expect(front.sessions).to.have.length(2);
    expect(front.seen).to.have.length(3);
  });

  it('times out a request the server never answers and retries it on a new connection', async () => {
    const kube = client({ timeoutMs: 300 });
    await read(kube);
    front.faults.push('hang');
    expect((await read(kube))?.metadata?.name).to.equal(SECRET.name);
    expect(front.seen).to.have.length(3);
    expect(front.sessions).to.have.length(2);
  });

  it('keeps the connection when another request was answered while one waited', async () => {
    const kube = client({ timeoutMs: 3000 });
    await read(kube);
    front.faults.push('hang');
    const waiting = read(kube);
    // Answered on the same connection while the first waits: the connection is alive, only that request is stuck.
    await new Promise((r) => setTimeout(r, 100));
    await read(kube);
    expect((await waiting)?.metadata?.name).to.equal(SECRET.name);
    expect(front.sessions).to.have.length(1);
  });
});
