// compareLive against what the real API server stores: every object of the complete example,
// applied with server-side apply and read back (defaults, canonical quantities, managedFields, status),
// shows no drift; kubectl-style edits of each owned kind are found with the field that drifted, and the
// repair (a merge patch for foreign list entries, then the same server-side apply) leaves no drift.
import { CoreV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { binaries, kubectlRun } from '@pgfn/controlplane';
import { KubeClient, refOf } from '@pgfn/kube';
import { buildCluster, compareLive, placeholderPasswords, type KubeObject } from '@pgfn/builder';
import { expect } from 'chai';
import { adminConfig, createNamespace } from '../support/kube.js';
import { testEnv } from '../support/env.js';
import { clusterExamples, exampleConfig, freeNodePortsFrom, withNodePortsFrom } from './examples.js';

const NOW = new Date('2026-01-01T00:00:00Z');

interface DriftCase {
  readonly what: string;
  readonly kind: string;
  readonly name: (c: string) => string;
  readonly kubectl: (c: string) => string[];
  readonly reason: RegExp;
}

const CASES: readonly DriftCase[] = [
  {
    what: 'a Service port changed (merge patch, as kubectl edit does)',
    kind: 'Service',
    name: (c) => c,
    kubectl: (c) => ['patch', 'svc', c, '--type=merge', '-p', '{"spec":{"ports":[{"name":"postgresql","port":5433,"targetPort":5432}]}}'],
    reason: /spec\.ports\[5432\/TCP\]: missing \(last written by kubectl-patch\)/,
  },
  {
    what: "the replica Service's spilo-role label removed",
    kind: 'Service',
    name: (c) => `${c}-repl`,
    kubectl: (c) => ['label', 'svc', `${c}-repl`, 'spilo-role-'],
    reason: /metadata\.labels\["spilo-role"\]: missing/,
  },
  {
    what: "an env value of the StatefulSet's pod template edited",
    kind: 'StatefulSet',
    name: (c) => c,
    kubectl: (c) => ['set', 'env', `statefulset/${c}`, '-c', 'postgres', 'PGROOT=/elsewhere'],
    reason: /spec\.template\.spec\.containers\[postgres\]\.env\[PGROOT\]\.value: "\/elsewhere", want "\/home\/postgres\/pgdata\/pgroot"/,
  },
  {
    what: 'an env variable added to the pod template',
    kind: 'StatefulSet',
    name: (c) => c,
    kubectl: (c) => ['set', 'env', `statefulset/${c}`, 'EXTRA=1'],
    reason: /env: \[EXTRA\] not applied by us/,
  },
  {
    what: "the PDB's minAvailable changed",
    kind: 'PodDisruptionBudget',
    name: (c) => `postgres-${c}-pdb`,
    kubectl: (c) => ['patch', 'pdb', `postgres-${c}-pdb`, '--type=merge', '-p', '{"spec":{"minAvailable":0}}'],
    reason: /spec\.minAvailable: 0, want 1/,
  },
  {
    what: 'the pooler Deployment scaled',
    kind: 'Deployment',
    name: (c) => `${c}-pooler`,
    kubectl: (c) => ['scale', 'deployment', `${c}-pooler`, '--replicas=5'],
    reason: /spec\.replicas: 5, want 2/,
  },
  {
    what: "the pooler Deployment's image edited",
    kind: 'Deployment',
    name: (c) => `${c}-pooler`,
    kubectl: (c) => ['set', 'image', `deployment/${c}-pooler`, 'connection-pooler=example.com/pgbouncer:other'],
    reason: /containers\[connection-pooler\]\.image: "example\.com\/pgbouncer:other"/,
  },
  {
    what: "the logical-backup CronJob's schedule edited",
    kind: 'CronJob',
    name: (c) => `logical-backup-${c}`,
    kubectl: (c) => ['patch', 'cronjob', `logical-backup-${c}`, '--type=merge', '-p', '{"spec":{"schedule":"1 1 1 1 *"}}'],
    reason: /spec\.schedule: "1 1 1 1 \*"/,
  },
  {
    what: "a credential Secret's label removed",
    kind: 'Secret',
    name: (c) => `postgres.${c}.credentials.postgresql.acid.zalan.do`,
    kubectl: (c) => ['label', 'secret', `postgres.${c}.credentials.postgresql.acid.zalan.do`, 'team-'],
    reason: /metadata\.labels\["team"\]: missing/,
  },
];

describe('compareLive against the real API server', function () {
  this.timeout(120_000);
  let kube: KubeClient;
  let ns: { name: string; cleanup: () => Promise<void> };
  let desired: KubeObject[];
  const cluster = 'acid-complete';
  const NODE_PORTS_FROM = 31532;

  const kubectl = (args: readonly string[]): Promise<string> =>
    kubectlRun(binaries().kubectl, testEnv().kubeconfig, ['-n', ns.name, '--cache-dir', `${testEnv().dir}/kubectl-cache`, ...args]);
  const live = async (o: KubernetesObject): Promise<KubernetesObject> => {
    const got = await kube.get(refOf(o));
    if (got === undefined) throw new Error(`${o.kind ?? ''} ${o.metadata?.name ?? ''} is gone`);
    return got;
  };
  const find = (kind: string, name: string): KubeObject => {
    const o = desired.find((d) => d.kind === kind && d.metadata?.name === name);
    if (o === undefined) throw new Error(`the complete example builds no ${kind} ${name}`);
    return o;
  };

  before(async () => {
    const kc = adminConfig();
    kube = new KubeClient(kc);
    ns = await createNamespace(kc, 'drift');
    const complete = clusterExamples().get('complete');
    if (complete === undefined) throw new Error('crds/examples/complete.yaml is missing');
    // Node ports of this file's own: another file may create the example's at the same time.
    const example = withNodePortsFrom(structuredClone(complete), await freeNodePortsFrom(kc.makeApiClient(CoreV1Api), NODE_PORTS_FROM));
    example.metadata = { ...example.metadata, namespace: ns.name };
    const config = { ...exampleConfig(), logicalBackupS3Bucket: 'pgfn-backups', kubernetesUseConfigmaps: false };
    const built = buildCluster({ cluster: example, config, existingSecrets: new Map(), newPassword: placeholderPasswords(), now: NOW });
    desired = built.objects.filter((o) => (o.metadata?.namespace ?? ns.name) === ns.name);
    for (const o of desired) await kube.apply(o);
  });
  after(async () => {
    // The example's fixed node ports are freed now, not when the namespace is gone, for the tests after this one.
    for (const o of desired.filter((d) => d.kind === 'Service')) await kube.delete(refOf(o));
    await ns.cleanup();
  });

  it('finds no drift in any object as the API server stores it (defaults, quantities, managedFields, status)', async () => {
    const drifted: string[] = [];
    for (const o of desired) {
      const cmp = compareLive(await live(o), o);
      if (cmp.action !== 'none') drifted.push(`${o.kind ?? ''}/${o.metadata?.name ?? ''}: ${cmp.reasons.join('; ')}`);
    }
    expect(desired.map((o) => o.kind)).to.include.members([
      'StatefulSet',
      'Service',
      'PodDisruptionBudget',
      'Deployment',
      'CronJob',
      'Secret',
    ]);
    expect(drifted).to.deep.equal([]);
  });

  for (const c of CASES) {
    it(`finds and repairs drift: ${c.what}`, async () => {
      const want = find(c.kind, c.name(cluster));
      await kubectl(c.kubectl(cluster));
      const cmp = compareLive(await live(want), want);
      expect(cmp.action).to.equal('repair');
      expect(cmp.reasons.join('\n')).to.match(c.reason);
      if (cmp.replaceLists !== undefined) await kube.mergePatch(refOf(want), cmp.replaceLists);
      await kube.apply(want);
      expect(compareLive(await live(want), want).reasons).to.deep.equal([]);
    });
  }

  it("never compares a Secret's data", async () => {
    const want = find('Secret', `postgres.${cluster}.credentials.postgresql.acid.zalan.do`);
    await kubectl(['patch', 'secret', want.metadata?.name ?? '', '--type=merge', '-p', '{"stringData":{"password":"changed-by-hand"}}']);
    expect(compareLive(await live(want), want).reasons).to.deep.equal([]);
  });
});
