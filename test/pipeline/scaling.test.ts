// The function supervisor as the activator's stand-in: each Knative Service's min-scale, max-scale,
// scale-down time, containerConcurrency and timeoutSeconds, read from the manifests (scalingOf) and
// honoured by real processes (the echo fixture on the real function runtime).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot } from '@pgfn/controlplane';
import {
  FUNCTION_LABEL,
  FunctionSupervisor,
  LocalBroker,
  knativeServicesOf,
  loadKustomization,
  parseGoDuration,
  scalingOf,
  type KnativeServiceManifest,
  type Scaling,
  type TriggerManifest,
} from '@pgfn/pipeline';

const ECHO = join(repoRoot, 'test/pipeline/fixtures/echo-fn.ts');

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('scalingOf: what a Knative Service asks of the supervisor', () => {
  const services = knativeServicesOf(loadKustomization());
  const of = (fn: string): Scaling => {
    const svc = services.find((s) => s.metadata.labels?.[FUNCTION_LABEL] === fn);
    if (svc === undefined) throw new Error(`no Service for ${fn}`);
    return scalingOf(svc);
  };
  const cases: [string, Scaling][] = [
    ['reconcile', { minScale: 0, maxScale: 1, containerConcurrency: 1000, idleMs: 60_000, timeoutMs: 300_000 }],
    ['rolling-update', { minScale: 0, maxScale: 2, containerConcurrency: 4, idleMs: 60_000, timeoutMs: 120_000 }],
    ['backup-verify', { minScale: 0, maxScale: 1, containerConcurrency: 2, idleMs: 60_000, timeoutMs: 600_000 }],
    ['team-role-sync', { minScale: 0, maxScale: 2, containerConcurrency: 4, idleMs: 60_000, timeoutMs: 300_000 }],
  ];
  for (const [fn, want] of cases) it(`reads ${fn}'s Service as shipped`, () => expect(of(fn)).to.deep.equal(want));

  const svc = (
    annotations: Record<string, string>,
    spec: { containerConcurrency?: number; timeoutSeconds?: number } = {},
  ): KnativeServiceManifest => ({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 's' },
    spec: { template: { metadata: { annotations }, spec: { containers: [{ image: 'x' }], ...spec } } },
  });
  it("applies Knative's defaults: no bounds, no concurrency limit, the 60 s stable window, 300 s timeout", () => {
    expect(scalingOf(svc({}))).to.deep.equal({ minScale: 0, maxScale: 0, containerConcurrency: 0, idleMs: 60_000, timeoutMs: 300_000 });
  });
  it('keeps an idle instance for the longest of window, retention and scale-down-delay', () => {
    expect(scalingOf(svc({ 'autoscaling.knative.dev/scale-down-delay': '5m' })).idleMs).to.equal(300_000);
    expect(scalingOf(svc({ 'autoscaling.knative.dev/window': '6s' })).idleMs).to.equal(6000);
    expect(
      scalingOf(svc({ 'autoscaling.knative.dev/window': '6s', 'autoscaling.knative.dev/scale-to-zero-pod-retention-period': '1m30s' }))
        .idleMs,
    ).to.equal(90_000);
  });
  it('refuses malformed annotations, naming them', () => {
    expect(() => scalingOf(svc({ 'autoscaling.knative.dev/max-scale': 'two' }))).to.throw(/max-scale must be a whole number/);
    expect(() => scalingOf(svc({ 'autoscaling.knative.dev/min-scale': '3', 'autoscaling.knative.dev/max-scale': '2' }))).to.throw(
      /exceeds max-scale/,
    );
    expect(() => scalingOf(svc({ 'autoscaling.knative.dev/scale-down-delay': '5 minutes' }))).to.throw(/scale-down-delay/);
  });
  it('parses Go durations', () => {
    expect(['0', '1m', '90s', '1h30m', '0.5s', '250ms'].map((d) => parseGoDuration(d))).to.deep.equal([
      0, 60_000, 90_000, 5_400_000, 500, 250,
    ]);
    expect(() => parseGoDuration('1d')).to.throw(/not a duration/);
  });
});

describe('FunctionSupervisor honours scaling', function () {
  this.timeout(120_000);
  let dir: string;
  let supervisor: FunctionSupervisor | undefined;
  const start = (scaling: Partial<Scaling>): FunctionSupervisor =>
    (supervisor = new FunctionSupervisor({
      functions: { echo: { args: ['--import', 'tsx', ECHO], scaling } },
      logDir: dir,
    }));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pgfn-scaling-'));
  });
  afterEach(async () => {
    await supervisor?.stop();
    supervisor = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts another instance when every one is at containerConcurrency, up to max-scale; then requests wait for a slot', async () => {
    const s = start({ maxScale: 2, containerConcurrency: 1, idleMs: 60_000 });
    const first = await s.acquire('echo');
    const second = await s.acquire('echo');
    expect(s.instanceCount('echo')).to.equal(2);
    expect(second.url).to.not.equal(first.url);
    const third = s.acquire('echo');
    await until('the third request waiting', () => (s.waiting('echo') === 1 ? true : undefined));
    expect(s.instanceCount('echo'), 'max-scale holds').to.equal(2);
    first.release(true);
    const lease = await third;
    expect(lease.url, 'the freed slot').to.equal(first.url);
    expect(s.waiting('echo')).to.equal(0);
    second.release(true);
    lease.release(true);
  });

  it('keeps min-scale instances without traffic, scales down to min-scale only, and replaces one that dies', async () => {
    const s = start({ minScale: 1, maxScale: 2, containerConcurrency: 1, idleMs: 300 });
    await s.startMinimum();
    expect(s.instanceCount('echo'), 'running before any request').to.equal(1);
    const a = await s.acquire('echo');
    const b = await s.acquire('echo');
    expect(s.instanceCount('echo')).to.equal(2);
    a.release(true);
    b.release(true);
    await until('scaled down to min-scale', () => (s.instanceCount('echo') === 1 ? true : undefined));
    const kept = s.pid('echo');
    // Several idle periods later the last instance is still there.
    await new Promise((r) => setTimeout(r, 1500));
    expect(s.instanceCount('echo')).to.equal(1);
    expect(s.pid('echo')).to.equal(kept);
    process.kill(kept ?? 0, 'SIGKILL');
    await until('a replacement', () => {
      const pid = s.pid('echo');
      return s.instanceCount('echo') === 1 && pid !== undefined && pid !== kept ? true : undefined;
    });
  });

  it("answers 504 for a request that outlives the Service's timeoutSeconds, as the queue-proxy does", async () => {
    const s = start({ timeoutMs: 500 });
    const trigger: TriggerManifest = {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Trigger',
      metadata: { name: 'slow', namespace: 'pgfn-system' },
      spec: { broker: 'pgfn', subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'echo' } } },
    };
    const broker = await LocalBroker.start({
      triggers: [trigger],
      resolve: () => ({ describe: 'function echo', acquire: async () => s.acquire('echo') }),
    });
    try {
      const headers = { 'ce-specversion': '1.0', 'ce-id': 'slow-1', 'ce-source': 'test', 'ce-type': 'test', 'ce-pgfntest': 'sleep3000' };
      expect((await fetch(broker.url, { method: 'POST', headers, body: '' })).status).to.equal(202);
      await until('the delivery', () => broker.deliveries()[0]);
      const [record] = broker.deliveries();
      expect(record?.attempts.map((a) => a.status)).to.deep.equal([504]);
      expect(record?.outcome).to.equal('failed');
    } finally {
      await broker.stop();
    }
  });
});
