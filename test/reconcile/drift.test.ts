// Drift repair with reconcile in the loop (real control plane, kwok pods): each kubectl edit of an
// object pgfn owns — its applied-hash still matching — is undone by the next resync with the same
// server-side apply, and a Warning Event `DriftRepaired` names the object and the field; a resync of
// the repaired, undrifted cluster writes nothing.
import * as k8s from '@kubernetes/client-node';
import { expect } from 'chai';
import { DEFAULT_OPERATOR_CONFIG, type Postgresql } from '@pgfn/api';
import { binaries, kubectlRun } from '@pgfn/controlplane';
import { KubeClient } from '@pgfn/kube';
import { ensureCrds } from '../crds/install.js';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { example, onKwok, pingEvent, resourceEvent, startReconcile, type RunningReconcile } from './support.js';

type Cluster = Postgresql & k8s.KubernetesObject;
type Json = Record<string, unknown>;
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const C = 'acid-drift';
const SECRET = `postgres.${C}.credentials.postgresql.acid.zalan.do`;

interface DriftCase {
  readonly what: string;
  readonly ref: { apiVersion: string; kind: string; name: string };
  readonly kubectl: readonly string[];
  /** The Event's message names the object and this field. */
  readonly field: RegExp;
  /** True once the live object is back as pgfn built it. */
  readonly repaired: (live: Json) => boolean;
}

const at = (o: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, k) => (v === null || typeof v !== 'object' ? undefined : (v as Record<string | number, unknown>)[k]), o);
const labels = (o: Json): Record<string, string> => (at(o, 'metadata', 'labels') ?? {}) as Record<string, string>;
const postgresEnv = (o: Json): { name: string; value?: string }[] =>
  ((at(o, 'spec', 'template', 'spec', 'containers') ?? []) as { name: string; env?: { name: string; value?: string }[] }[]).find(
    (c) => c.name === 'postgres',
  )?.env ?? [];

const CASES: readonly DriftCase[] = [
  {
    what: 'the master Service port changed',
    ref: { apiVersion: 'v1', kind: 'Service', name: C },
    kubectl: ['patch', 'svc', C, '--type=merge', '-p', '{"spec":{"ports":[{"name":"postgresql","port":5433,"targetPort":5432}]}}'],
    field: /Service\/acid-drift: spec\.ports\[5432\/TCP\]: missing/,
    repaired: (o) => JSON.stringify((at(o, 'spec', 'ports') as { port: number }[]).map((p) => p.port)) === '[5432]',
  },
  {
    what: "the replica Service's spilo-role label removed",
    ref: { apiVersion: 'v1', kind: 'Service', name: `${C}-repl` },
    kubectl: ['label', 'svc', `${C}-repl`, 'spilo-role-'],
    field: /Service\/acid-drift-repl: metadata\.labels\["spilo-role"\]: missing/,
    repaired: (o) => labels(o)['spilo-role'] === 'replica',
  },
  {
    what: "an env value of the StatefulSet's pod template edited",
    ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: C },
    kubectl: ['set', 'env', `statefulset/${C}`, '-c', 'postgres', 'PGROOT=/elsewhere'],
    field: /StatefulSet\/acid-drift: spec\.template\.spec\.containers\[postgres\]\.env\[PGROOT\]\.value: "\/elsewhere"/,
    repaired: (o) => postgresEnv(o).find((e) => e.name === 'PGROOT')?.value === '/home/postgres/pgdata/pgroot',
  },
  {
    what: 'an env variable added to the pod template',
    ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: C },
    kubectl: ['set', 'env', `statefulset/${C}`, '-c', 'postgres', 'EXTRA=1'],
    field: /StatefulSet\/acid-drift: spec\.template\.spec\.containers\[postgres\]\.env: \[EXTRA\] not applied by us/,
    repaired: (o) => !postgresEnv(o).some((e) => e.name === 'EXTRA'),
  },
  {
    what: "the PDB's minAvailable changed",
    ref: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', name: `postgres-${C}-pdb` },
    kubectl: ['patch', 'pdb', `postgres-${C}-pdb`, '--type=merge', '-p', '{"spec":{"minAvailable":0}}'],
    field: /PodDisruptionBudget\/postgres-acid-drift-pdb: spec\.minAvailable: 0, want 1/,
    repaired: (o) => at(o, 'spec', 'minAvailable') === 1,
  },
  {
    what: 'the pooler Deployment scaled',
    ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: `${C}-pooler` },
    kubectl: ['scale', 'deployment', `${C}-pooler`, '--replicas=5'],
    field: /Deployment\/acid-drift-pooler: spec\.replicas: 5, want 2/,
    repaired: (o) => at(o, 'spec', 'replicas') === 2,
  },
  {
    what: "the pooler Deployment's image edited",
    ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: `${C}-pooler` },
    kubectl: ['set', 'image', `deployment/${C}-pooler`, 'connection-pooler=example.com/pgbouncer:other'],
    field: /Deployment\/acid-drift-pooler: spec\.template\.spec\.containers\[connection-pooler\]\.image: "example\.com\/pgbouncer:other"/,
    repaired: (o) => !JSON.stringify(at(o, 'spec', 'template', 'spec', 'containers')).includes('example.com/pgbouncer:other'),
  },
  {
    what: "the logical-backup CronJob's schedule edited",
    ref: { apiVersion: 'batch/v1', kind: 'CronJob', name: `logical-backup-${C}` },
    kubectl: ['patch', 'cronjob', `logical-backup-${C}`, '--type=merge', '-p', '{"spec":{"schedule":"1 1 1 1 *"}}'],
    field: /CronJob\/logical-backup-acid-drift: spec\.schedule: "1 1 1 1 \*", want "15 3 \* \* \*"/,
    repaired: (o) => at(o, 'spec', 'schedule') === '15 3 * * *',
  },
  {
    what: "the master Endpoints' spilo-role label removed",
    ref: { apiVersion: 'v1', kind: 'Endpoints', name: C },
    kubectl: ['label', 'endpoints', C, 'spilo-role-'],
    field: /Endpoints\/acid-drift: metadata\.labels\["spilo-role"\]: missing/,
    repaired: (o) => labels(o)['spilo-role'] === 'master',
  },
  {
    what: "the pod RoleBinding's subjects replaced",
    ref: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', name: 'postgres-pod' },
    kubectl: [
      'patch',
      'rolebinding',
      'postgres-pod',
      '--type=merge',
      '-p',
      '{"subjects":[{"kind":"ServiceAccount","name":"someone-else"}]}',
    ],
    field: /RoleBinding\/postgres-pod: subjects\[0\]\.name: "someone-else", want "postgres-pod"/,
    repaired: (o) => (at(o, 'subjects', 0, 'name') as string) === 'postgres-pod',
  },
  {
    what: "a credential Secret's team label removed",
    ref: { apiVersion: 'v1', kind: 'Secret', name: SECRET },
    kubectl: ['label', 'secret', SECRET, 'team-'],
    field: /Secret\/postgres\.acid-drift\.credentials\.postgresql\.acid\.zalan\.do: metadata\.labels\["team"\]: missing/,
    repaired: (o) => labels(o)['team'] === 'acid',
  },
];

describe('drift repair (reconcile in the loop, real control plane)', function () {
  this.timeout(180_000);
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let kube: KubeClient;
  let fn: RunningReconcile;
  let ns: { name: string; cleanup: () => Promise<void> };

  const kubectl = (args: readonly string[]): Promise<string> =>
    kubectlRun(binaries().kubectl, testEnv().kubeconfig, ['-n', ns.name, '--cache-dir', `${testEnv().dir}/kubectl-cache`, ...args]);
  const get = async (ref: DriftCase['ref']): Promise<Json> => {
    const o = await kube.get<Json & k8s.KubernetesObject>({ ...ref, namespace: ns.name });
    if (o === undefined) throw new Error(`${ref.kind} ${ref.name} is gone`);
    return o;
  };
  const driftEvents = async (): Promise<string[]> =>
    (await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: `involvedObject.name=${C}` })).items
      .filter((e) => e.type === 'Warning' && e.reason === 'DriftRepaired')
      .map((e) => e.message ?? '');
  const resync = async (): Promise<void> => {
    const res = await fn.post(pingEvent());
    expect(res.status).to.equal(200);
  };

  before(async () => {
    kc = adminConfig();
    core = kc.makeApiClient(k8s.CoreV1Api);
    kube = new KubeClient(kc);
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'drift');
    // Endpoints mode: the master Endpoints are pgfn's (Patroni's leader object), not the endpoints controller's.
    fn = await startReconcile(kc, ns.name, { ...DEFAULT_OPERATOR_CONFIG, kubernetesUseConfigmaps: false });
    const base = onKwok(example('minimal.yaml', ns.name, C));
    const body: Cluster = {
      ...base,
      spec: {
        ...base.spec,
        enableConnectionPooler: true,
        enableLogicalBackup: true,
        logicalBackupSchedule: '15 3 * * *',
      },
    };
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const pg = (await custom.createNamespacedCustomObject({ ...PG, namespace: ns.name, body })) as Cluster;
    expect((await fn.post(resourceEvent('add', pg))).status).to.equal(200);
    await resync(); // settles the status writes of a new cluster
  });
  after(async () => {
    await fn.stop();
    await ns.cleanup();
  });

  for (const c of CASES) {
    it(`repairs on the next resync, with an Event naming object and field: ${c.what}`, async () => {
      await kubectl(c.kubectl);
      expect(c.repaired(await get(c.ref)), 'the edit took effect').to.equal(false);
      const before = (await driftEvents()).length;
      fn.requests.reset();
      await resync();
      expect(c.repaired(await get(c.ref)), JSON.stringify(await get(c.ref))).to.equal(true);
      const events = await driftEvents();
      expect(events.length, 'one new DriftRepaired Event').to.equal(before + 1);
      expect(
        events.some((m) => c.field.test(m)),
        events.join('\n'),
      ).to.equal(true);
      expect(fn.requests.counts.get('apply') ?? 0, 'repaired with a server-side apply').to.be.greaterThan(0);
    });
  }

  it('repairs a credential Secret whose cluster-name label was removed (it drops out of the lists), keeping its password', async () => {
    const ref = { apiVersion: 'v1', kind: 'Secret', name: SECRET };
    const password = at(await get(ref), 'data', 'password');
    await kubectl(['label', 'secret', SECRET, 'cluster-name-']);
    const before = (await driftEvents()).length;
    await resync();
    const repaired = await get(ref);
    expect(labels(repaired)['cluster-name']).to.equal(C);
    expect(at(repaired, 'data', 'password')).to.equal(password);
    const events = await driftEvents();
    expect(events.length).to.equal(before + 1);
    expect(
      events.some((m) => m.includes(`Secret/${SECRET}: metadata.labels["cluster-name"]: missing`)),
      events.join('\n'),
    ).to.equal(true);
  });

  it('writes nothing and reads about once per cluster when a resync finds nothing drifted', async () => {
    await resync(); // a repair may move the status once (Synced message)
    fn.requests.reset();
    await resync();
    expect(fn.requests.writes(), JSON.stringify([...fn.requests.counts])).to.equal(0);
    const requests = [...fn.requests.counts.values()].reduce((a, b) => a + b, 0);
    // The batch reads: the cluster, one list per owned kind, pods, the shared ServiceAccount and RoleBinding.
    expect(requests, JSON.stringify([...fn.requests.counts])).to.be.at.most(12);
  });
});
