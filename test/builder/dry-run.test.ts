// Every object built from every postgresql example passes the real apiserver's validation: a
// server-side dry-run create (dryRun=All) in a fresh namespace, under two configurations — the example
// operator configuration, and one that switches on what it leaves off (Endpoints mode, load balancers,
// cross-namespace secrets, rotation, owner references, IAM roles, extra mounts, scheduling rules).
import * as k8s from '@kubernetes/client-node';
import type { OperatorConfig, Postgresql } from '@pgfn/api';
import { buildCluster, placeholderPasswords, type KubeObject } from '@pgfn/builder';
import { expect } from 'chai';
import { adminConfig, createNamespace, statusOf } from '../support/kube.js';
import { clusterExamples, exampleConfig, freeNodePortsFrom, withNodePortsFrom } from './examples.js';

const NOW = new Date('2026-01-01T00:00:00Z');
/** Namespaces the cross-namespace roles and prepared databases of the examples name. */
const FOREIGN_NAMESPACES = ['reporting'];

function everythingOn(base: OperatorConfig): OperatorConfig {
  return {
    ...base,
    enableOwnerReferences: true,
    kubernetesUseConfigmaps: false,
    enableMasterLoadBalancer: true,
    enableReplicaLoadBalancer: true,
    enableMasterPoolerLoadBalancer: true,
    externalTrafficPolicy: 'Local',
    enableCrossNamespaceSecret: true,
    enablePasswordRotation: true,
    irsaRoleArn: 'arn:aws:iam::123456789012:role/pgfn-pods',
    kubeIamRole: 'pgfn-backup',
    additionalSecretMount: 'pgfn-extra',
    additionalSecretMountPath: '/meta/extra',
    nodeReadinessLabel: { 'pgfn.dev/ready': 'true' },
    enablePodAntiaffinity: true,
    toleration: { key: 'postgres', operator: 'Exists', effect: 'NoSchedule' },
    inheritedLabels: ['environment'],
    customServiceAnnotations: { 'example.com/lb': 'internal' },
    customPodAnnotations: { 'example.com/scrape': 'true' },
    logicalBackupS3Bucket: 'pgfn-backups',
    logicalBackupS3AccessKeyId: 'AKIAEXAMPLE',
    logicalBackupS3SecretAccessKey: 'example-secret',
  };
}

/** Node ports of this file's own (test/builder/drift.test.ts creates the complete example's for real), free ones from here on. */
const NODE_PORTS_FROM = 31432;

function objectsFor(example: Postgresql, opts: { namespace: string; config: OperatorConfig; nodePortsFrom: number }): KubeObject[] {
  const { namespace, config } = opts;
  const cluster = withNodePortsFrom(structuredClone(example), opts.nodePortsFrom);
  cluster.metadata = { ...cluster.metadata, namespace, uid: '5b2c3f9e-1d7a-4e0b-9c6f-000000000001' };
  const result = buildCluster({ cluster, config, existingSecrets: new Map(), newPassword: placeholderPasswords(), now: NOW });
  const errors = result.errors.filter((e) => e.severity === 'error');
  expect(errors, JSON.stringify(errors)).to.deep.equal([]);
  return result.objects;
}

describe('built objects against the real apiserver (server-side dry-run)', function () {
  this.timeout(120_000);
  // Clients are made in `before`: the control plane starts after the test files are loaded.
  let api: k8s.KubernetesObjectApi;
  let core: k8s.CoreV1Api;
  let ns: { name: string; cleanup: () => Promise<void> };
  let nodePortsFrom = NODE_PORTS_FROM;

  before(async () => {
    const kc = adminConfig();
    api = k8s.KubernetesObjectApi.makeApiClient(kc);
    core = kc.makeApiClient(k8s.CoreV1Api);
    nodePortsFrom = await freeNodePortsFrom(core, NODE_PORTS_FROM);
    ns = await createNamespace(kc, 'builder-dry-run');
    for (const name of FOREIGN_NAMESPACES) {
      await core.createNamespace({ body: { metadata: { name, labels: { 'pgfn.dev/test': 'true' } } } }).catch((err: unknown) => {
        if (statusOf(err) !== 409) throw err;
      });
    }
  });
  // `ns` is unset when `before` failed (no control plane).
  after(async () => {
    await (ns as typeof ns | undefined)?.cleanup();
  });

  const configs: [string, () => OperatorConfig][] = [
    ['the example configuration', exampleConfig],
    ['a configuration with every option on', () => everythingOn(exampleConfig())],
  ];
  for (const [label, makeConfig] of configs) {
    for (const [name, example] of clusterExamples()) {
      it(`accepts every object of ${name} under ${label}`, async () => {
        const objects = objectsFor(example, { namespace: ns.name, config: makeConfig(), nodePortsFrom });
        expect(objects.length).to.be.greaterThan(5);
        const failures: string[] = [];
        await Promise.all(
          objects.map(async (o) => {
            try {
              await api.create(o, undefined, 'All', 'pgfn-builder-test');
            } catch (err) {
              const body = (err as { body?: unknown }).body;
              failures.push(
                `${o.kind}/${o.metadata.namespace}/${o.metadata.name}: ${typeof body === 'string' ? body : (err as Error).message}`,
              );
            }
          }),
        );
        expect(failures, failures.join('\n')).to.deep.equal([]);
      });
    }
  }

  it('asks for node ports no other Service holds', async () => {
    const from = await freeNodePortsFrom(core, NODE_PORTS_FROM);
    await core.createNamespacedService({
      namespace: ns.name,
      body: {
        metadata: { name: 'holds-a-node-port' },
        spec: { type: 'NodePort', selector: { app: 'none' }, ports: [{ port: 5432, nodePort: from + 1 }] },
      },
    });
    try {
      const next = await freeNodePortsFrom(core, from);
      expect(next, 'the four ports from the held one on are skipped').to.be.greaterThan(from + 1);
    } finally {
      await core.deleteNamespacedService({ namespace: ns.name, name: 'holds-a-node-port' });
    }
  });

  it('really creates nothing', async () => {
    const secrets = await core.listNamespacedSecret({ namespace: ns.name });
    expect(secrets.items.filter((s) => s.type === 'Opaque')).to.deep.equal([]);
  });
});
