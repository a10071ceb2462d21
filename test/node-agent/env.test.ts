import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { ContainerConfigError, expand, resolveContainerEnv, type EnvSources } from '@pgfn/node-agent';
import { expect } from 'chai';

const facts = { podIP: '127.0.10.7', hostIP: '127.0.10.1', nodeCpu: 8, nodeMemoryBytes: 16 * 2 ** 30 };
const pod = (container: V1Container): V1Pod => ({
  metadata: { name: 'acid-x-0', namespace: 'team', uid: 'u-1', labels: { 'cluster-name': 'acid-x' }, annotations: { note: 'hi' } },
  spec: { nodeName: 'pgfn-agent-0', serviceAccountName: 'postgres-pod', containers: [container] },
});
const sources: EnvSources = {
  secret: (name) => Promise.resolve(name === 'creds' ? { password: 's3cret', username: 'postgres' } : undefined),
  configMap: (name) => Promise.resolve(name === 'settings' ? { MODE: 'transaction', PORT: '6432' } : undefined),
};
const resolve = (container: V1Container, serviceEnv: Record<string, string> = {}): Promise<Record<string, string>> =>
  resolveContainerEnv(pod(container), container, { sources, facts, serviceEnv });

describe('resolveContainerEnv', () => {
  it('resolves values, field references, secrets and config maps like kubelet', async () => {
    const env = await resolve({
      name: 'postgres',
      resources: { limits: { memory: '1Gi', cpu: '500m' } },
      env: [
        { name: 'SCOPE', value: 'acid-x' },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'CLUSTER', valueFrom: { fieldRef: { fieldPath: "metadata.labels['cluster-name']" } } },
        { name: 'NOTE', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
        { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        { name: 'PGPASSWORD_SUPERUSER', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'MODE' } } },
        { name: 'MEMORY_MB', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'CPUS', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
      ],
    });
    expect(env).to.include({
      SCOPE: 'acid-x',
      POD_IP: '127.0.10.7',
      POD_NAMESPACE: 'team',
      POD_NAME: 'acid-x-0',
      CLUSTER: 'acid-x',
      NOTE: 'hi',
      HOST_IP: '127.0.10.1',
      SA: 'postgres-pod',
      PGPASSWORD_SUPERUSER: 's3cret',
      MODE: 'transaction',
      MEMORY_MB: '1024',
      CPUS: '1',
    });
  });

  it('applies envFrom first, then env; service variables lose to both', async () => {
    const env = await resolve(
      {
        name: 'pooler',
        envFrom: [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'creds' }, prefix: 'DB_' }],
        env: [{ name: 'PORT', value: '5432' }],
      },
      { PORT: '1', KUBERNETES_SERVICE_HOST: '127.0.0.1' },
    );
    expect(env).to.deep.include({
      MODE: 'transaction',
      PORT: '5432',
      DB_password: 's3cret',
      DB_username: 'postgres',
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
    });
  });

  it('expands $(VAR) references to earlier variables only', async () => {
    const env = await resolve({
      name: 'c',
      env: [
        { name: 'A', value: 'x' },
        { name: 'B', value: '$(A)-$(C)-$$(A)' },
        { name: 'C', value: 'late' },
      ],
    });
    expect(env['B']).to.equal('x-$(C)-$(A)');
  });

  it('skips optional references to missing objects and keys', async () => {
    const env = await resolve({
      name: 'c',
      envFrom: [{ secretRef: { name: 'absent', optional: true } }],
      env: [
        { name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'absent', optional: true } } },
        { name: 'Y', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k', optional: true } } },
      ],
    });
    expect(env).to.not.have.any.keys('X', 'Y');
  });

  const failures: { scenario: string; container: V1Container; message: string }[] = [
    {
      scenario: 'a missing Secret',
      container: { name: 'c', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'gone', key: 'password' } } }] },
      message: 'secret "gone" not found',
    },
    {
      scenario: 'a missing Secret key',
      container: { name: 'c', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } }] },
      message: "couldn't find key token in Secret team/creds",
    },
    {
      scenario: 'a missing ConfigMap in envFrom',
      container: { name: 'c', envFrom: [{ configMapRef: { name: 'gone' } }] },
      message: 'configmap "gone" not found',
    },
    {
      scenario: 'an unknown field path',
      container: { name: 'c', env: [{ name: 'P', valueFrom: { fieldRef: { fieldPath: 'spec.hostname' } } }] },
      message: 'unsupported fieldRef fieldPath "spec.hostname"',
    },
  ];
  for (const f of failures) {
    it(`reports ${f.scenario} as a container configuration error`, async () => {
      const err = await resolve(f.container).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(ContainerConfigError);
      expect((err as Error).message).to.equal(f.message);
    });
  }
});

describe('expand', () => {
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['$(A)', '1'],
    ['$(MISSING)', '$(MISSING)'],
    ['$$(A)', '$(A)'],
    ['a$b', 'a$b'],
    ['$(A', '$(A'],
    ['$', '$'],
  ];
  for (const [input, output] of cases) {
    it(`turns "${input}" into "${output}"`, () => expect(expand(input, { A: '1' })).to.equal(output));
  }
});
