// Issue 20, item 5: schema-valid but wrong manifests applied to a cluster that is already running
// (real control plane, the real reconcile handler). The API server stores each of them; reconcile
// must mark the cluster Invalid with the field and a sentence, record a Warning Event saying the
// same, and change nothing: every object of the cluster keeps its uid and resourceVersion, and so
// does every object of its neighbour. Fixing the manifest converges again without recreating anything.
import type { KubernetesObject } from '@kubernetes/client-node';
import { expect } from 'chai';
import { API_VERSION, DEFAULT_OPERATOR_CONFIG, POSTGRESQL_KIND, type PostgresSpec, type Postgresql } from '@pgfn/api';
import { KubeClient } from '@pgfn/kube';
import { ensureCrds } from '../crds/install.js';
import { example, onKwok, resourceEvent, startReconcile, type RunningReconcile } from '../reconcile/support.js';
import { adminConfig, createNamespace } from '../support/kube.js';
import { divergences, ownedObjects } from './convergence.js';
import { createHash } from 'node:crypto';
import { removeNamespaces } from './event-chaos.js';

type Cluster = Postgresql & KubernetesObject;

/** Invalid in every identifier position: quotes, SQL, comments, whitespace, unicode, paths, emptiness, length. */
const HOSTILE: readonly string[] = [
  "x'; DROP DATABASE postgres; --",
  'a"b',
  'semi;colon',
  'sp ace',
  'ünïcödé',
  'back\\slash',
  '$$dollar$$',
  '../../etc/passwd',
  'x'.repeat(100),
  '',
  'tab\there',
  'emoji😀',
  'a/*c*/',
  '%s%n',
];

type Case = readonly [what: string, edit: (s: PostgresSpec) => PostgresSpec, message: RegExp];

const identifierCases: Case[] = HOSTILE.flatMap((h): Case[] => {
  const show = JSON.stringify(h.length > 20 ? `${h.slice(0, 8)}…(${h.length})` : h);
  return [
    [`role name ${show}`, (s) => ({ ...s, users: { ...s.users, [h]: [] } }), /spec\.users\..*(is not valid|longer than 63 bytes)/s],
    [`database name ${show}`, (s) => ({ ...s, databases: { ...s.databases, [h]: 'app_owner' } }), /database name .* is not valid/s],
    [`database owner ${show}`, (s) => ({ ...s, databases: { ...s.databases, orders: h } }), /is not a valid role name/s],
    [`prepared database ${show}`, (s) => ({ ...s, preparedDatabases: { [h]: {} } }), /prepared database name .* is not valid/s],
    [`prepared schema ${show}`, (s) => ({ ...s, preparedDatabases: { prep: { schemas: { [h]: {} } } } }), /schema name .* is not valid/s],
  ];
});

const CASES: readonly Case[] = [
  ...identifierCases,
  ...['login', 'superuser', 'createdb', 'createrole', 'replication', 'inherit', 'bypassrls'].map((f): Case => [
    `role options ${f} and no${f}`,
    (s) => ({ ...s, users: { ...s.users, u1: [f, `no${f}`] } }),
    /contradict each other/,
  ]),
  ['team ID that is no label value', (s) => ({ ...s, teamId: "acid'; --" }), /team ID .* cannot be a label value/],
  ['huge role name (10 kB)', (s) => ({ ...s, users: { ...s.users, ['u'.repeat(10_000)]: [] } }), /longer than 63 bytes/],
  ['sidecar without image', (s) => ({ ...s, sidecars: [{ name: 'exporter' }] }), /image is required/],
  ['sidecar named like the Spilo container', (s) => ({ ...s, sidecars: [{ name: 'postgres', image: 'busybox' }] }), /used twice/],
  ['clone of a cluster name no Service can have', (s) => ({ ...s, clone: { cluster: 'Bad_Name;--' } }), /must be a valid Service name/],
];

/** What a write can change: labels, annotations (but the Deployment controller's revision) and all but the status. */
function content(o: KubernetesObject): string {
  const { metadata, status: _status, ...rest } = o as KubernetesObject & { status?: unknown };
  const kept = {
    labels: metadata?.labels,
    annotations: { ...metadata?.annotations, 'deployment.kubernetes.io/revision': undefined },
    ownerReferences: metadata?.ownerReferences,
    rest: { ...rest, metadata: undefined },
  };
  return createHash('sha256').update(JSON.stringify(kept)).digest('hex').slice(0, 16);
}

describe(`reliability: ${CASES.length} schema-valid but wrong manifests on a running cluster`, function () {
  this.timeout(300_000);
  let ns: { name: string };
  let fn: RunningReconcile;
  let kube: KubeClient;
  const victim = 'acid-victim';
  const neighbour = 'acid-neighbour';

  before(async () => {
    const kc = adminConfig();
    await ensureCrds(kc);
    ns = await createNamespace(kc, 'bad-input');
    kube = new KubeClient(kc);
    fn = await startReconcile(kc, ns.name);
  });
  after(async () => {
    await fn.stop();
    await removeNamespaces(adminConfig(), [ns.name]);
  });

  const read = async (name: string): Promise<Cluster> => {
    const c = await kube.get<Cluster>({ apiVersion: API_VERSION, kind: POSTGRESQL_KIND, namespace: ns.name, name });
    if (c === undefined) throw new Error(`${name} is gone`);
    return c;
  };
  const invalidSpecEvents = async (): Promise<(KubernetesObject & { type?: string; reason?: string; message?: string })[]> =>
    (
      await kube.list<KubernetesObject & { type?: string; reason?: string; message?: string; involvedObject?: { name?: string } }>(
        'v1',
        'Event',
        ns.name,
      )
    ).filter((e) => e.type === 'Warning' && e.reason === 'InvalidSpec' && e.involvedObject?.name === victim);
  /**
   * uid@content of every object of a cluster: any write that changes it, or a recreation, changes it. Not
   * the resourceVersion: controllers write the workloads' status (a StatefulSet's replica counts) at any time.
   */
  const fingerprint = async (name: string): Promise<Record<string, string>> =>
    Object.fromEntries(
      [...(await ownedObjects(kube, await read(name), DEFAULT_OPERATOR_CONFIG))].map(([k, o]) => [
        k,
        `${o.metadata?.uid ?? ''}@${content(o)}`,
      ]),
    );

  it('marks each Invalid with the field and a Warning Event, deletes and changes nothing, leaves the neighbour alone', async () => {
    const base = onKwok(example('minimal.yaml', ns.name, victim));
    const spec: PostgresSpec = { ...base.spec, enableConnectionPooler: true, enableLogicalBackup: true };
    for (const name of [victim, neighbour]) {
      const created = await kube.create<Cluster>({ ...base, metadata: { ...base.metadata, name }, spec });
      expect((await fn.post(resourceEvent('add', created ?? {}))).status).to.equal(200);
      expect(await divergences(kube, { namespace: ns.name, name }, DEFAULT_OPERATOR_CONFIG), name).to.deep.equal([]);
    }
    const victimBefore = await fingerprint(victim);
    const neighbourBefore = await fingerprint(neighbour);
    expect(Object.keys(victimBefore)).to.include.members([
      'StatefulSet/acid-victim',
      'Deployment/acid-victim-pooler',
      'CronJob/logical-backup-acid-victim',
    ]);

    const seen = new Set((await invalidSpecEvents()).map((e) => e.metadata?.name ?? ''));
    const failures: string[] = [];
    for (const [what, edit, message] of CASES) {
      const cur = await read(victim);
      let written: Cluster;
      try {
        written = await kube.replace<Cluster>({ ...cur, spec: edit(spec) });
      } catch (err) {
        failures.push(`${what}: the API server refused it, so it is no schema-valid case: ${(err as Error).message}`);
        continue;
      }
      const res = await fn.post(resourceEvent('update', written));
      const status = (await read(victim)).status;
      const valid = status?.conditions?.find((c) => c.type === 'Valid');
      const fresh = (await invalidSpecEvents()).filter((e) => !seen.has(e.metadata?.name ?? ''));
      for (const e of fresh) seen.add(e.metadata?.name ?? '');
      const told = fresh.length === 1 && message.test(fresh[0]?.message ?? '');
      const problems = [
        res.status === 200 ? '' : `answered ${res.status}`,
        status?.PostgresClusterStatus === 'Invalid' ? '' : `status ${status?.PostgresClusterStatus ?? 'none'}`,
        valid?.status === 'False' && message.test(valid.message ?? '') ? '' : `Valid condition: ${JSON.stringify(valid)}`,
        told ? '' : `not one new Warning Event InvalidSpec with the message: ${JSON.stringify(fresh.map((e) => e.message))}`,
        JSON.stringify(await fingerprint(victim)) === JSON.stringify(victimBefore) ? '' : 'objects of the cluster changed',
      ].filter((p) => p !== '');
      if (problems.length > 0) failures.push(`${what}: ${problems.join('; ')}`);
    }
    expect(failures.map((f) => (f.length > 600 ? `${f.slice(0, 600)}…` : f))).to.deep.equal([]);
    expect(await fingerprint(neighbour), 'the neighbour').to.deep.equal(neighbourBefore);

    // fixed: converges again, every object the same one as before
    const cur = await read(victim);
    const fixed = await kube.replace<Cluster>({ ...cur, spec });
    expect((await fn.post(resourceEvent('update', fixed))).status).to.equal(200);
    expect(await divergences(kube, { namespace: ns.name, name: victim }, DEFAULT_OPERATOR_CONFIG)).to.deep.equal([]);
    const uids = (f: Record<string, string>): string[] => Object.entries(f).map(([k, v]) => `${k} ${v.split('@')[0] ?? ''}`);
    expect(uids(await fingerprint(victim))).to.deep.equal(uids(victimBefore));
  });
});
