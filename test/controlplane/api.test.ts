import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace, errorText, eventually, statusOf, tokenConfig } from '../support/kube.js';

describe('the test control plane: API semantics', () => {
  let kc: k8s.KubeConfig;
  let ns: { name: string; cleanup: () => Promise<void> };
  before(async () => {
    kc = adminConfig();
    ns = await createNamespace(kc, 'cp-api');
  });
  after(async () => {
    await ns.cleanup();
  });

  it('serves a new CRD and streams add, update and delete of a custom object in order', async () => {
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const plural = `widgets${randomBytes(3).toString('hex')}`;
    const group = 'test.pgfn.dev';
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: `${plural}.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural, singular: plural.slice(0, -1), kind: `W${plural}` },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } },
              },
            },
          ],
        },
      },
    });
    try {
      await eventually('CRD Established', async () => {
        const crd = await ext.readCustomResourceDefinition({ name: `${plural}.${group}` });
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
      });
      const seen: string[] = [];
      let watchError: unknown;
      // Watching from the list's resourceVersion delivers every later event even if the watch
      // connection is established after the first write.
      // A just-Established CRD may answer 429 "storage is (re)initializing" for a moment: retry like a client should.
      const list = await eventually(
        'the new resource to be listable',
        async () =>
          (await custom.listNamespacedCustomObject({ group, version: 'v1', namespace: ns.name, plural })) as {
            metadata: { resourceVersion: string };
          },
      );
      const watcher = await new k8s.Watch(kc).watch(
        `/apis/${group}/v1/namespaces/${ns.name}/${plural}`,
        { resourceVersion: list.metadata.resourceVersion },
        (phase: string, obj: { spec?: { size?: number } }) => {
          seen.push(`${phase}:${obj.spec?.size}`);
        },
        (err: unknown) => {
          if (err) watchError = err;
        },
      );
      try {
        const ref = { group, version: 'v1', namespace: ns.name, plural };
        const created = (await custom.createNamespacedCustomObject({
          ...ref,
          body: { apiVersion: `${group}/v1`, kind: `W${plural}`, metadata: { name: 'w1' }, spec: { size: 1 } },
        })) as { metadata: { resourceVersion: string } };
        await custom.replaceNamespacedCustomObject({
          ...ref,
          name: 'w1',
          body: {
            apiVersion: `${group}/v1`,
            kind: `W${plural}`,
            metadata: { name: 'w1', resourceVersion: created.metadata.resourceVersion },
            spec: { size: 2 },
          },
        });
        await custom.deleteNamespacedCustomObject({ ...ref, name: 'w1' });
        await eventually(
          'three watch events',
          () => {
            if (watchError !== undefined) return Promise.reject(new Error(`watch ended: ${errorText(watchError)}`));
            return Promise.resolve(seen.length >= 3 ? true : undefined);
          },
          15_000,
        );
        expect(seen).to.deep.equal(['ADDED:1', 'MODIFIED:2', 'DELETED:2']);
      } finally {
        watcher.abort();
      }
    } finally {
      await ext.deleteCustomResourceDefinition({ name: `${plural}.${group}` });
    }
  });

  it('lets a static-token user do exactly what its Role grants and answers 403 otherwise', async () => {
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    const adminCore = kc.makeApiClient(k8s.CoreV1Api);
    const user = 'pgfn-tester-1';
    const token = testEnv().tokens[user];
    expect(token, 'static token for the tester').to.be.a('string');
    await rbac.createNamespacedRole({
      namespace: ns.name,
      body: { metadata: { name: 'cm-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns.name,
      body: {
        metadata: { name: 'cm-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      },
    });
    await adminCore.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'visible' }, data: { a: 'b' } } });
    const core = tokenConfig(token ?? '').makeApiClient(k8s.CoreV1Api);
    // RBAC caches are refreshed from informers: allow a moment for the new binding to be seen.
    const list = await eventually('the Role to take effect', async () => core.listNamespacedConfigMap({ namespace: ns.name }));
    expect(list.items.map((c) => c.metadata?.name)).to.include('visible');
    expect((await core.readNamespacedConfigMap({ namespace: ns.name, name: 'visible' })).data).to.deep.equal({ a: 'b' });
    const denied = async (call: () => Promise<unknown>): Promise<number | undefined> => call().then(() => 200, statusOf);
    expect(await denied(() => core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'nope' } } }))).to.equal(403);
    expect(await denied(() => core.listNamespacedSecret({ namespace: ns.name }))).to.equal(403);
    expect(await denied(() => core.listNamespacedConfigMap({ namespace: 'default' }))).to.equal(403);
    expect(await denied(() => core.listNamespace())).to.equal(403);
  });

  it('rejects an unknown token with 401', async () => {
    const core = tokenConfig('not-a-token').makeApiClient(k8s.CoreV1Api);
    const code = await core.listNamespacedConfigMap({ namespace: ns.name }).then(() => 200, statusOf);
    expect(code).to.equal(401);
  });
});
