// The kit's pure parts and its guarded status write against the real API server.
import { expect } from 'chai';
import { CloudEvent } from 'cloudevents';
import type * as k8s from '@kubernetes/client-node';
import type { Condition } from '@pgfn/api';
import { apiServerEvent, forEachLimited, functionEnv, mapLimited, setCondition, subjectRef, writeStatus } from '@pgfn/fn-runtime';
import { KubeClient, retryDelayMs, withRetry, parseRetryAfter, DEFAULT_RETRY } from '@pgfn/kube';
import { ensureCrds } from '../crds/install.js';
import { adminConfig, createNamespace } from '../support/kube.js';

describe('fn-runtime: event types', () => {
  it('reads the changed object of an ApiServerSource event, attributes before data', () => {
    const e = new CloudEvent({
      type: 'dev.knative.apiserver.resource.update',
      source: 's',
      kind: 'Pod',
      name: 'acid-a-0',
      namespace: 'ns',
      data: { metadata: { name: 'other', namespace: 'x', labels: { 'cluster-name': 'acid-a' } } },
    });
    expect(apiServerEvent(e)).to.deep.include({ verb: 'update', isResource: true, kind: 'Pod', name: 'acid-a-0', namespace: 'ns' });
    expect(apiServerEvent(new CloudEvent({ type: 'dev.knative.sources.ping', source: 's' }))).to.equal(undefined);
    expect(
      apiServerEvent(new CloudEvent({ type: 'dev.knative.apiserver.ref.delete', source: 's', data: { kind: 'Pod' } })),
    ).to.deep.include({
      verb: 'delete',
      isResource: false,
      kind: 'Pod',
    });
  });

  it('parses <namespace>/<name> subjects only', () => {
    expect(subjectRef('ns/acid-a')).to.deep.equal({ namespace: 'ns', name: 'acid-a' });
    expect(subjectRef('acid-a')).to.equal(undefined);
    expect(subjectRef(undefined)).to.equal(undefined);
  });
});

describe('fn-runtime: env', () => {
  it('reads the environment every function shares', () => {
    const env = functionEnv({
      PORT: '8080',
      WATCHED_NAMESPACE: '*',
      PGSSLMODE: 'prefer',
      OPERATOR_NAMESPACE: 'ops',
      CONFIG_MAP_NAME: 'cfg',
    });
    expect(env).to.deep.include({ port: 8080, host: '0.0.0.0', watchedNamespace: undefined, sslmode: 'prefer', sink: undefined });
    expect(env.configSource).to.deep.include({ namespace: 'ops', configMap: 'cfg' });
    expect(functionEnv({ WATCHED_NAMESPACE: 'team-a' }).watchedNamespace).to.equal('team-a');
    expect(functionEnv({}).sslmode).to.equal('require');
    expect(() => functionEnv({ PGSSLMODE: 'sometimes' })).to.throw(/PGSSLMODE=sometimes/);
  });
});

describe('fn-runtime: bounded concurrency', () => {
  it('never runs more than the limit at once and keeps the input order', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimited([5, 1, 4, 2, 3], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    });
    expect(out).to.deep.equal([50, 10, 40, 20, 30]);
    expect(peak).to.equal(2);
    const seen: number[] = [];
    await forEachLimited([], 3, (n: number) => {
      seen.push(n);
      return Promise.resolve();
    });
    expect(seen).to.deep.equal([]);
  });
});

describe('kube: the one retry policy', () => {
  it('jitters the backoff within its doubling ceiling, and honours Retry-After up to the maximum', () => {
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(retryDelayMs(policy, { attempt: 1, random: () => 0.999 })).to.equal(99);
    expect(retryDelayMs(policy, { attempt: 3, random: () => 0.5 })).to.equal(200);
    expect(retryDelayMs(policy, { attempt: 9, random: () => 0.999 })).to.equal(999);
    expect(retryDelayMs(policy, { attempt: 1, retryAfterMs: 700 })).to.equal(700);
    expect(retryDelayMs(policy, { attempt: 1, retryAfterMs: 60_000 })).to.equal(1_000);
    expect(parseRetryAfter('3')).to.equal(3_000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', () => 4_000)).to.equal(6_000);
    expect(parseRetryAfter('soon')).to.equal(undefined);
  });

  it('stops at the attempts, and at the first failure that is not transient', async () => {
    const pauses: number[] = [];
    let calls = 0;
    const sleep = (ms: number): Promise<void> => {
      pauses.push(ms);
      return Promise.resolve();
    };
    const err = await withRetry(
      () => {
        calls++;
        return Promise.reject(Object.assign(new Error('busy'), { retryAfterMs: 5 }));
      },
      { policy: { attempts: 3 }, transient: () => true, retryAfterMs: (e: { retryAfterMs: number }) => e.retryAfterMs, sleep },
    ).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.equal('busy');
    expect([calls, pauses]).to.deep.equal([3, [5, 5]]);
    calls = 0;
    await withRetry(
      () => {
        calls++;
        return Promise.reject(new Error('bad'));
      },
      { transient: () => false, sleep },
    ).catch(() => undefined);
    expect(calls).to.equal(1);
  });
});

describe('fn-runtime: guarded status writes', function () {
  this.timeout(60_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let kube: KubeClient;
  type Pg = k8s.KubernetesObject & { spec: unknown; status?: { PostgresClusterStatus?: string; conditions?: Condition[] } };

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'fn-status');
    kube = new KubeClient(kc);
  });
  after(async () => {
    await ns.cleanup();
  });

  const cluster = async (name: string): Promise<Pg> =>
    kube.apply<Pg>({
      apiVersion: 'acid.zalan.do/v1',
      kind: 'postgresql',
      metadata: { name, namespace: ns.name },
      spec: { teamId: 'acid', numberOfInstances: 1, postgresql: { version: '16' }, volume: { size: '1Gi' } },
    });

  it('sets its condition from a stale read by re-reading, keeping the conditions others wrote meanwhile', async () => {
    const stale = await cluster('acid-kit-cond');
    // Another function writes its condition after our read.
    await kube.patchStatus(
      { apiVersion: 'acid.zalan.do/v1', kind: 'postgresql', namespace: ns.name, name: 'acid-kit-cond' },
      {
        PostgresClusterStatus: 'Running',
        conditions: [{ type: 'Ready', status: 'True', reason: 'ClusterReady', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      },
    );
    const now = new Date('2026-05-01T10:00:00.500Z');
    const changed = await setCondition({
      kube,
      object: stale,
      condition: { type: 'BackupVerified', status: 'True', reason: 'Verified', message: 'm' },
      now,
    });
    expect(changed).to.equal(true);
    const live = await kube.get<Pg>({ apiVersion: 'acid.zalan.do/v1', kind: 'postgresql', namespace: ns.name, name: 'acid-kit-cond' });
    expect(live?.status?.PostgresClusterStatus).to.equal('Running');
    expect(live?.status?.conditions?.map((c) => `${c.type}=${c.status}`)).to.deep.equal(['Ready=True', 'BackupVerified=True']);
    expect(live?.status?.conditions?.[1]).to.include({ lastTransitionTime: '2026-05-01T10:00:00Z', observedGeneration: 1 });
    // The same again writes nothing.
    expect(
      await setCondition({
        kube,
        object: live as Pg,
        condition: { type: 'BackupVerified', status: 'True', reason: 'Verified', message: 'm' },
        now,
      }),
    ).to.equal(false);
  });

  it("gives up when the re-read object is no longer the writer's", async () => {
    const stale = await cluster('acid-kit-gen');
    await kube.patchStatus(
      { apiVersion: 'acid.zalan.do/v1', kind: 'postgresql', namespace: ns.name, name: 'acid-kit-gen' },
      { PostgresClusterStatus: 'Creating' },
    );
    const wrote = await writeStatus<{ PostgresClusterStatus?: string }>({
      kube,
      object: stale,
      next: () => ({ PostgresClusterStatus: 'Running' }),
      stillOurs: () => false,
    });
    expect(wrote).to.equal(false);
    const live = await kube.get<Pg>({ apiVersion: 'acid.zalan.do/v1', kind: 'postgresql', namespace: ns.name, name: 'acid-kit-gen' });
    expect(live?.status?.PostgresClusterStatus).to.equal('Creating');
  });
});
