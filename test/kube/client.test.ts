// KubeClient against the real API server: every verb on a core kind, a namespaced custom resource
// with its status subresource, a cluster-scoped kind, 404/409 handling, our field manager in
// managedFields, and through a fault-injecting proxy: retries (jitter, Retry-After), request timeouts, and
// that the kinds we use need no discovery request (ADR 0011).
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import * as k8s from '@kubernetes/client-node';
import { FIELD_MANAGER, isNamespaceTerminating, KubeClient, refOf, statusCode, type RetryPolicy } from '@pgfn/kube';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { ensureCrds } from '../crds/install.js';
import { identityForServiceAccount } from '../support/fn-identity.js';
import { adminConfig, createNamespace, eventually } from '../support/kube.js';

const SECRET_KIND = { apiVersion: 'v1', kind: 'Secret' } as const;

describe('KubeClient', function () {
  this.timeout(60_000);
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  let calls: string[];
  let kube: KubeClient;

  before(async () => {
    kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'kube-client');
  });
  after(async () => {
    await ns.cleanup();
  });
  beforeEach(() => {
    calls = [];
    kube = new KubeClient(kc, (verb, kind) => calls.push(`${verb} ${kind}`));
  });

  const secret = (name: string, data: Record<string, string>): k8s.V1Secret => ({
    ...SECRET_KIND,
    metadata: { name, namespace: ns.name, labels: { 'pgfn.dev/test': 'kube-client' } },
    stringData: data,
    type: 'Opaque',
  });

  it('applies, reads, lists, patches and deletes a core object, recording our field manager', async () => {
    const applied = await kube.apply(secret('s1', { password: 'a' }));
    expect(applied.metadata?.uid).to.be.a('string');
    expect(applied.metadata?.managedFields?.map((f) => [f.manager, f.operation])).to.deep.include([FIELD_MANAGER, 'Apply']);

    const read = await kube.get<k8s.V1Secret>({ ...SECRET_KIND, namespace: ns.name, name: 's1' });
    expect(Buffer.from(read?.data?.['password'] ?? '', 'base64').toString()).to.equal('a');
    expect(read?.kind).to.equal('Secret');

    const listed = await kube.list<k8s.V1Secret>('v1', 'Secret', ns.name, 'pgfn.dev/test=kube-client');
    expect(listed.map((s) => s.metadata?.name)).to.deep.equal(['s1']);
    expect(await kube.list('v1', 'Secret', ns.name, 'pgfn.dev/test=nothing')).to.deep.equal([]);

    await kube.patchMetadata(
      { ...SECRET_KIND, namespace: ns.name, name: 's1' },
      { annotations: { 'pgfn.dev/x': 'y' }, labels: { 'pgfn.dev/test': null } },
    );
    const patched = await kube.get<k8s.V1Secret>({ ...SECRET_KIND, namespace: ns.name, name: 's1' });
    expect(patched?.metadata?.annotations?.['pgfn.dev/x']).to.equal('y');
    expect(patched?.metadata?.labels?.['pgfn.dev/test']).to.equal(undefined);

    await kube.delete({ ...SECRET_KIND, namespace: ns.name, name: 's1' });
    expect(await kube.get({ ...SECRET_KIND, namespace: ns.name, name: 's1' })).to.equal(undefined);
    expect(calls).to.deep.equal([
      'apply Secret',
      'get Secret',
      'list Secret',
      'list Secret',
      'patch Secret',
      'get Secret',
      'delete Secret',
      'get Secret',
    ]);
  });

  it('answers undefined for a missing object and succeeds deleting one', async () => {
    expect(await kube.get({ ...SECRET_KIND, namespace: ns.name, name: 'absent' })).to.equal(undefined);
    await kube.delete({ ...SECRET_KIND, namespace: ns.name, name: 'absent' }, 'Orphan');
  });

  it('tells a write refused because the namespace is being deleted (403 NamespaceTerminating) from other 403s', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const leaving = await createNamespace(kc, 'kube-leaving');
    const held = { name: 'held', namespace: leaving.name };
    // A finalizer on an object inside keeps the namespace Terminating until it is removed.
    await core.createNamespacedConfigMap({ namespace: leaving.name, body: { metadata: { ...held, finalizers: ['pgfn.dev/test-hold'] } } });
    try {
      await core.deleteNamespace({ name: leaving.name });
      const refused = await kube.create({ ...secret('new', { a: 'b' }), metadata: { name: 'new', namespace: leaving.name } }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(statusCode(refused)).to.equal(403);
      expect(isNamespaceTerminating(refused)).to.equal(true);
      // A ServiceAccount without RBAC is refused with 403 too, for another reason.
      const reader = `pgfn-test-reader-${ns.name}`;
      const nobody = await identityForServiceAccount('nobody', ns.name, [
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody', namespace: ns.name } },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: reader },
          rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: reader },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: reader },
          subjects: [{ kind: 'ServiceAccount', name: 'nobody', namespace: ns.name }],
        },
      ]);
      const forbidden = await new KubeClient(nobody.kubeconfig).create(secret('other', { a: 'b' })).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(statusCode(forbidden)).to.equal(403);
      expect(isNamespaceTerminating(forbidden)).to.equal(false);
    } finally {
      await core.patchNamespacedConfigMap(
        { ...held, body: { metadata: { finalizers: null } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      await eventually(
        'the namespace gone',
        async () => ((await core.listNamespace()).items.some((n) => n.metadata?.name === leaving.name) ? undefined : true),
        60_000,
      );
    }
  });

  it('creates once and answers undefined when the object exists (409), keeping its content', async () => {
    const first = await kube.create(secret('c1', { password: 'first' }));
    expect(first?.metadata?.name).to.equal('c1');
    expect(first?.metadata?.managedFields?.some((f) => f.manager === FIELD_MANAGER && f.operation === 'Update')).to.equal(true);
    expect(await kube.create(secret('c1', { password: 'second' }))).to.equal(undefined);
    const live = await kube.get<k8s.V1Secret>({ ...SECRET_KIND, namespace: ns.name, name: 'c1' });
    expect(Buffer.from(live?.data?.['password'] ?? '', 'base64').toString()).to.equal('first');
  });

  it('takes over fields another manager owns (force), as server-side apply with conflicts', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: { metadata: { name: 'cm1' }, data: { a: 'theirs' } },
      fieldManager: 'someone-else',
    });
    const applied = await kube.apply<k8s.V1ConfigMap>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm1', namespace: ns.name },
      data: { a: 'ours' },
    });
    expect(applied.data?.['a']).to.equal('ours');
  });

  it('writes a custom resource, its status subresource guarded by resourceVersion, and its finalizers', async () => {
    const pg: k8s.KubernetesObject & { metadata: { name: string }; spec: unknown; status?: { PostgresClusterStatus?: string } } = {
      apiVersion: 'acid.zalan.do/v1',
      kind: 'postgresql',
      metadata: { name: 'acid-kube-client', namespace: ns.name },
      spec: { teamId: 'acid', numberOfInstances: 1, postgresql: { version: '15' }, volume: { size: '1Gi' } },
    };
    const applied = await kube.apply(pg);
    const ref = refOf(applied);
    await kube.patchStatus(ref, { PostgresClusterStatus: 'Creating' }, applied.metadata?.resourceVersion);
    const withStatus = await kube.get<typeof pg>(ref);
    expect(withStatus?.status?.PostgresClusterStatus).to.equal('Creating');

    // A stale resourceVersion is refused, not silently applied.
    const stale = await kube.patchStatus(ref, { PostgresClusterStatus: 'Running' }, applied.metadata?.resourceVersion).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(statusCode(stale)).to.equal(409);

    const finalized = await kube.patchFinalizers<k8s.KubernetesObject>(ref, ['pgfn.dev/test'], withStatus?.metadata?.resourceVersion);
    expect(finalized.metadata?.finalizers).to.deep.equal(['pgfn.dev/test']);
    const conflict = await kube.patchFinalizers(ref, [], withStatus?.metadata?.resourceVersion).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(statusCode(conflict)).to.equal(409);
    await kube.patchFinalizers(ref, [], finalized.metadata?.resourceVersion);

    const all = await kube.list('acid.zalan.do/v1', 'postgresql', undefined);
    expect(all.map((o) => `${o.metadata?.namespace}/${o.metadata?.name}`)).to.include(`${ns.name}/acid-kube-client`);
    await kube.delete(ref);
    expect(await kube.get(ref)).to.equal(undefined);
  });

  it('handles a cluster-scoped kind (no namespace in its path)', async () => {
    const name = `pgfn-kube-client-${randomBytes(3).toString('hex')}`;
    const ref = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name };
    const applied = await kube.apply({
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
    });
    expect(applied.metadata?.name).to.equal(name);
    expect((await kube.get(ref))?.metadata?.name).to.equal(name);
    await kube.delete(ref);
    expect(await kube.get(ref)).to.equal(undefined);
  });

  it('records an Event', async () => {
    const now = new Date();
    await kube.createEvent({
      metadata: { generateName: 'pgfn-', namespace: ns.name },
      involvedObject: { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns.name, name: 'cm1' },
      reason: 'Tested',
      message: 'KubeClient records Events',
      type: 'Normal',
      source: { component: 'pgfn' },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
    const events = await kube.list<k8s.CoreV1Event>('v1', 'Event', ns.name);
    expect(events.map((e) => e.reason)).to.include('Tested');
  });

  it('finds kinds outside its static table through discovery', async () => {
    const name = `kube-client-${randomBytes(3).toString('hex')}`;
    const ref = { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', name };
    await kube.apply({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name }, value: 1000 });
    expect((await kube.get(ref))?.metadata?.name).to.equal(name);
    await kube.delete(ref);
    const unknown = await kube.get({ apiVersion: 'v1', kind: 'NoSuchKind', name: 'x' }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(String((unknown?.cause as Error | undefined)?.message)).to.match(/Unrecognized API version and kind: v1 NoSuchKind/);
  });

  it('sets apiVersion and kind on list items (the API server leaves them out)', async () => {
    await kube.apply(secret('listed', { a: 'b' }));
    const items = await kube.list<k8s.V1Secret>('v1', 'Secret', ns.name, 'pgfn.dev/test=kube-client');
    expect(items.find((s) => s.metadata?.name === 'listed')).to.include({ apiVersion: 'v1', kind: 'Secret' });
  });

  describe('through a fault-injecting proxy (429, 5xx, a hung server)', () => {
    let proxy: FaultProxy;
    const SECRET = { ...SECRET_KIND, name: 'through-proxy' };

    before(async () => {
      proxy = await startFaultProxy(kc, ns.name);
      await new KubeClient(kc).apply(secret(SECRET.name, { k: 'v' }));
    });
    after(async () => {
      await proxy.close();
    });
    beforeEach(() => {
      proxy.seen.length = 0;
      proxy.faults.length = 0;
    });

    const client = (retry: Partial<RetryPolicy> = {}): KubeClient =>
      new KubeClient(proxy.kubeConfig, { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5_000, ...retry } });

    it('makes no discovery request for the kinds pgfn uses, and uses the context namespace by default', async () => {
      const c = client();
      await c.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'acid-a' });
      await c.delete(
        { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace: ns.name, name: 'postgres-acid-a-pdb' },
        'Foreground',
      );
      await c.list('acid.zalan.do/v1', 'postgresql', undefined);
      expect(proxy.seen.map((r) => r.line)).to.deep.equal([
        `GET /apis/apps/v1/namespaces/${ns.name}/statefulsets/acid-a`,
        `DELETE /apis/policy/v1/namespaces/${ns.name}/poddisruptionbudgets/postgres-acid-a-pdb?propagationPolicy=Foreground`,
        'GET /apis/acid.zalan.do/v1/postgresqls',
      ]);
    });

    it('retries 429 and 5xx, then gets the real answer', async () => {
      proxy.faults.push({ status: 429 }, { status: 503 });
      const got = await client().get<k8s.V1Secret>({ ...SECRET, namespace: ns.name });
      expect(got?.metadata?.name).to.equal(SECRET.name);
      expect(proxy.seen).to.have.length(3);
    });

    it("waits as long as a 429's Retry-After asks before the next attempt", async () => {
      proxy.faults.push({ status: 429, retryAfter: '1' });
      const got = await client({ baseDelayMs: 1 }).get<k8s.V1Secret>({ ...SECRET, namespace: ns.name });
      expect(got?.metadata?.name).to.equal(SECRET.name);
      const [first, second] = proxy.seen;
      // The backoff alone would wait at most 1 ms; the server asked for a second.
      expect((second?.at ?? 0) - (first?.at ?? 0)).to.be.at.least(950);
    });

    it('gives up after the attempts allowed, keeping the status code', async () => {
      proxy.faults.push({ status: 500 }, { status: 502 }, { status: 504 });
      const err = await client()
        .apply(secret(SECRET.name, { k: 'v' }))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(proxy.seen.map((r) => r.line)).to.have.length(3);
      expect(proxy.seen[0]?.line).to.equal(`PATCH /api/v1/namespaces/${ns.name}/secrets/${SECRET.name}?fieldManager=pgfn&force=true`);
      expect(statusCode(err)).to.equal(504);
    });

    it('does not retry a 403', async () => {
      proxy.faults.push({ status: 403 });
      const err = await client()
        .get({ ...SECRET, namespace: ns.name })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(proxy.seen).to.have.length(1);
      expect(statusCode(err)).to.equal(403);
    });

    it('times a hung request out and retries it', async () => {
      proxy.faults.push({ hang: true });
      const got = await client({ timeoutMs: 300 }).get<k8s.V1Secret>({ ...SECRET, namespace: ns.name });
      expect(got?.metadata?.name).to.equal(SECRET.name);
      expect(proxy.seen).to.have.length(2);
    });

    it('fails with ETIMEDOUT when every attempt hangs', async () => {
      proxy.faults.push({ hang: true }, { hang: true });
      const err = await client({ timeoutMs: 200, attempts: 2 })
        .get({ ...SECRET, namespace: ns.name })
        .then(
          () => undefined,
          (e: unknown) => e as Error,
        );
      expect((err?.cause as { code?: string } | undefined)?.code).to.equal('ETIMEDOUT');
      expect(proxy.seen).to.have.length(2);
    });
  });

  it('retries a refused connection', async () => {
    const dead = new k8s.KubeConfig();
    dead.loadFromOptions({
      clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    let seen = 0;
    const client = new KubeClient(dead, {
      observe: () => {
        seen++;
      },
      retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const err = await client.get({ ...SECRET_KIND, namespace: 'ns', name: 'x' }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(String((err?.cause as { code?: string } | undefined)?.code)).to.equal('ECONNREFUSED');
    expect(seen).to.equal(1);
  });
});
