// Upstream as the oracle (issue 14, ADR 0028): every example of crds/examples/ and every postgresql
// among Zalando's own example manifests is applied twice on the real control plane, once for Zalando's
// operator (built from its Go module, run out of cluster with -nodatabaseaccess -noteamsapi, as the
// convergence bench runs it) and once for pgfn's reconcile function, each in a fresh namespace with the
// same operator configuration. Every object each side makes is normalised and compared field by field;
// each difference must be a row of docs/differences-from-upstream.md, and each row must still occur.
// Upstream's manifests come from its module source in the Go module cache (`go mod download`, a
// registry), never from a copy in this repository. kwok runs the pods; bench/lib/helpers.ts plays the
// volume provisioner and Patroni's role labels for both sides alike.
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { CLUSTER_STATUS, fromConfigMap, type Postgresql } from '@pgfn/api';
import { freePort, repoRoot } from '@pgfn/controlplane';
import { startHelpers, type Helpers } from '../../bench/lib/helpers.js';
import { CONFIG_MAP, operatorConfigMap } from '../../bench/lib/operator-config.js';
import { ensureZalando, ZALANDO_VERSION, zalandoModuleDir, ZalandoOperator } from '../../bench/lib/zalando.js';
import { ensureCrds } from '../crds/install.js';
import { onKwok, requestEvent, resourceEvent, startReconcile } from '../reconcile/support.js';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace, eventually, statusOf } from '../support/kube.js';
import {
  differences,
  documentedDifferences,
  matches,
  normalise,
  type Difference,
  type ListedObject,
  type RunIdentity,
} from './normalise.js';

type Manifest = Postgresql & k8s.KubernetesObject & { metadata: { name: string } };

/** Every kind an operator makes in a cluster's namespace (pods and volume claims are the StatefulSet controller's). */
const KINDS: readonly [apiVersion: string, kind: string][] = [
  ['acid.zalan.do/v1', 'postgresql'],
  ['apps/v1', 'StatefulSet'],
  ['apps/v1', 'Deployment'],
  ['v1', 'Service'],
  ['v1', 'Endpoints'],
  ['v1', 'Secret'],
  ['v1', 'ConfigMap'],
  ['v1', 'ServiceAccount'],
  ['policy/v1', 'PodDisruptionBudget'],
  ['batch/v1', 'CronJob'],
  ['rbac.authorization.k8s.io/v1', 'Role'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
];
/** What every namespace has before any operator acts. */
const NAMESPACE_DEFAULTS = new Set(['ConfigMap/kube-root-ca.crt', 'ServiceAccount/default']);
const SETTLED: ReadonlySet<string> = new Set([
  CLUSTER_STATUS.Running,
  CLUSTER_STATUS.CreateFailed,
  CLUSTER_STATUS.SyncFailed,
  CLUSTER_STATUS.UpdateFailed,
  CLUSTER_STATUS.Invalid,
]);
const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' } as const;

/** crds/examples/ and upstream's manifests/: every postgresql document, each name once. */
function examples(upstreamDir: string): { source: string; manifest: Manifest }[] {
  const fromDir = (dir: string, label: string): { source: string; manifest: Manifest }[] =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .flatMap((f) =>
        parseAllDocuments(readFileSync(join(dir, f), 'utf8'))
          .map((d) => d.toJS() as Manifest | null)
          .filter((m): m is Manifest => m?.kind === 'postgresql')
          .map((manifest) => ({ source: `${label}/${f}`, manifest })),
      );
  const all = [...fromDir(join(repoRoot, 'crds/examples'), 'crds/examples'), ...fromDir(join(upstreamDir, 'manifests'), 'upstream')];
  const taken = new Set<string>();
  return all.map(({ source, manifest }) => {
    let name = manifest.metadata.name;
    // Two upstream files share acid-minimal-cluster; the team prefix stays, so names stay valid.
    for (let i = 2; taken.has(name); i++) name = `${manifest.metadata.name}-${i}`;
    taken.add(name);
    return { source, manifest: { ...manifest, metadata: { ...manifest.metadata, name } } };
  });
}

async function listAll(kc: k8s.KubeConfig, namespace: string): Promise<Map<string, ListedObject>> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  const out = new Map<string, ListedObject>();
  for (const [apiVersion, kind] of KINDS) {
    const list = await api.list(apiVersion, kind, namespace);
    for (const item of list.items) {
      const key = `${kind}/${item.metadata?.name ?? ''}`;
      if (!NAMESPACE_DEFAULTS.has(key)) out.set(key, { ...item, kind } as ListedObject);
    }
  }
  return out;
}

function runIdentity(namespace: string, objects: ReadonlyMap<string, ListedObject>): RunIdentity {
  const uids = new Map<string, string>();
  for (const [key, o] of objects) {
    const uid = o.metadata['uid'];
    if (key.startsWith('postgresql/') && typeof uid === 'string') uids.set(uid, `<uid of ${o.metadata.name}>`);
  }
  return { namespace, uids };
}

async function statuses(kc: k8s.KubeConfig, namespace: string): Promise<Map<string, string>> {
  const list = (await kc.makeApiClient(k8s.CustomObjectsApi).listNamespacedCustomObject({ ...PG, namespace })) as {
    items: { metadata: { name: string }; status?: { PostgresClusterStatus?: string } }[];
  };
  return new Map(list.items.map((i) => [i.metadata.name, i.status?.PostgresClusterStatus ?? '']));
}

/** Creates each manifest; returns those the API server refused (422) with its reason, the same for both sides. */
async function createAll(kc: k8s.KubeConfig, namespace: string, manifests: readonly Manifest[]): Promise<Map<string, string>> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const refused = new Map<string, string>();
  for (const m of manifests) {
    await custom
      .createNamespacedCustomObject({ ...PG, namespace, body: onKwok({ ...m, metadata: { ...m.metadata, namespace } }) })
      .catch((err: unknown) => {
        if (statusOf(err) !== 422) throw err;
        const body = (err as { body?: string }).body ?? '';
        refused.set(
          m.metadata.name,
          (JSON.parse(body) as { details?: { causes?: { field?: string }[] } }).details?.causes?.[0]?.field ?? body,
        );
      });
  }
  return refused;
}

/**
 * Deletes pods the scheduler shelved while their claims were still unbound (the helpers bind them a
 * moment later; the scheduler retries such a pod only after minutes). The StatefulSet controller makes
 * them again at once, and the scheduler then finds the claims bound. Same for both sides.
 */
async function unshelve(kc: k8s.KubeConfig, namespace: string): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (const pod of (await core.listNamespacedPod({ namespace })).items) {
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    const since = scheduled?.lastTransitionTime === undefined ? Date.now() : new Date(scheduled.lastTransitionTime).getTime();
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable' && Date.now() - since > 10_000) {
      await core.deleteNamespacedPod({ namespace, name: pod.metadata?.name ?? '' });
    }
  }
}

/**
 * Waits until every cluster has a settled status and the namespace's objects stopped changing; returns
 * how long the statuses took (ms).
 */
async function settle(
  kc: k8s.KubeConfig,
  namespace: string,
  names: readonly string[],
  poke?: (name: string) => Promise<void>,
): Promise<number> {
  const began = Date.now();
  await eventually(
    `every cluster in ${namespace} settled`,
    async () => {
      const now = await statuses(kc, namespace);
      const pending = names.filter((n) => !SETTLED.has(now.get(n) ?? ''));
      await unshelve(kc, namespace);
      for (const n of pending) await poke?.(n);
      return pending.length === 0 ? true : undefined;
    },
    600_000,
    3000,
  );
  const statusesMs = Date.now() - began;
  let last = '';
  await eventually(
    `the objects in ${namespace} to stop changing`,
    async () => {
      const now = JSON.stringify([...(await listAll(kc, namespace))].map(([k, o]) => [k, normalise(o, { namespace, uids: new Map() })]));
      const same = now === last;
      last = now;
      return same ? true : undefined;
    },
    120_000,
    5000,
  );
  return statusesMs;
}

/**
 * What the examples expect the cluster to have (as a cluster admin would have set up): complete.yaml's
 * PriorityClass (without it the StatefulSet controller cannot create the pods) and StorageClass
 * (without it the scheduler shelves the pod for minutes before it sees the claim bound).
 */
async function clusterPrerequisites(kc: k8s.KubeConfig): Promise<void> {
  const exists = (err: unknown): void => {
    if (statusOf(err) !== 409) throw err;
  };
  await kc
    .makeApiClient(k8s.SchedulingV1Api)
    .createPriorityClass({ body: { metadata: { name: 'postgres-pod-priority' }, value: 1_000_000 } })
    .catch(exists);
  await kc
    .makeApiClient(k8s.StorageV1Api)
    .createStorageClass({ body: { metadata: { name: 'standard' }, provisioner: 'pgfn.dev/test-helpers' } })
    .catch(exists);
}

/** What complete.yaml expects in its namespace: the claim its additional volume mounts. */
async function namespacePrerequisites(kc: k8s.KubeConfig, namespace: string): Promise<void> {
  await kc.makeApiClient(k8s.CoreV1Api).createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name: 'acid-complete-partitions' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    },
  });
}

async function dropFinalizers(kc: k8s.KubeConfig, namespace: string): Promise<void> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  for (const name of (await statuses(kc, namespace)).keys()) {
    await custom.patchNamespacedCustomObject(
      { ...PG, namespace, name, body: { metadata: { finalizers: null } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }
}

describe(`pgfn against Zalando's operator ${ZALANDO_VERSION} (upstream as the oracle)`, function () {
  this.timeout(30 * 60_000);
  let kc: k8s.KubeConfig;
  const namespaces: { name: string; cleanup: () => Promise<void> }[] = [];
  let found: Difference[] = [];
  let compared = 0;
  let cases: { source: string; manifest: Manifest }[] = [];
  let refused = new Map<string, string>();

  before(async () => {
    kc = adminConfig();
    // Built by hack/setup.sh; a missing Go toolchain or module proxy fails here, loudly.
    const binary = await ensureZalando();
    cases = examples(await zalandoModuleDir());
    const manifests = cases.map((c) => c.manifest);
    await ensureCrds(kc);
    await clusterPrerequisites(kc);
    const system = await createNamespace(kc, 'diff-system');
    const upstreamNs = await createNamespace(kc, 'diff-zalando');
    const pgfnNs = await createNamespace(kc, 'diff-pgfn');
    namespaces.push(system, upstreamNs, pgfnNs);
    for (const ns of [upstreamNs, pgfnNs]) await namespacePrerequisites(kc, ns.name);
    // One configuration for both; only the watched namespace differs (each side sees its own).
    const configData = (watched: string): Record<string, string> => ({ ...operatorConfigMap(0), watched_namespace: watched });
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: system.name,
      body: { metadata: { name: CONFIG_MAP }, data: { ...configData(upstreamNs.name), api_port: String(await freePort()) } },
    });

    type Side = { readonly refused: Map<string, string>; readonly ms: number; readonly statusesMs: number };
    // The two sides run side by side (ADR 0135): each in its own namespace with its own helpers, Zalando
    // watching only its namespace and pgfn's reconcile only its own, so neither sees the other's objects.
    const upstreamSide = async (): Promise<Side> => {
      const began = Date.now();
      const zalando = await ZalandoOperator.start({
        binary,
        kubeconfig: testEnv().kubeconfig,
        logFile: join(testEnv().dir, `zalando-${upstreamNs.name}.log`),
        configMap: `${system.name}/${CONFIG_MAP}`,
        operatorNamespace: system.name,
        // Unthrottled, as the bench's zalando-qps side: client-go's default 10 QPS only slows this side
        // (136 → 116 s to settle); what the operator makes does not depend on it.
        qps: 1000,
      });
      // The control plane's watchdog ends it too if this run dies before stopping it.
      appendFileSync(join(testEnv().dir, 'pids'), `${zalando.pid}\n`);
      try {
        const refusedHere = await createAll(kc, upstreamNs.name, manifests);
        const names = manifests.map((m) => m.metadata.name).filter((n) => !refusedHere.has(n));
        const statusesMs = await settle(kc, upstreamNs.name, names);
        return { refused: refusedHere, ms: Date.now() - began, statusesMs };
      } finally {
        await zalando.stop();
      }
    };
    const pgfnSide = async (): Promise<Side> => {
      const began = Date.now();
      const { config, errors } = fromConfigMap(configData(pgfnNs.name));
      expect(errors, 'the shared operator configuration parses for pgfn').to.deep.equal([]);
      const pgfn = await startReconcile(kc, pgfnNs.name, config);
      try {
        const refusedHere = await createAll(kc, pgfnNs.name, manifests);
        const names = manifests.map((m) => m.metadata.name).filter((n) => !refusedHere.has(n));
        const custom = kc.makeApiClient(k8s.CustomObjectsApi);
        for (const name of names) {
          const live = (await custom.getNamespacedCustomObject({ ...PG, namespace: pgfnNs.name, name })) as Manifest;
          await pgfn.post(resourceEvent('add', live));
        }
        // Pod changes reach reconcile through the pgfn-spilo source in a cluster; here a full reconcile does.
        const statusesMs = await settle(kc, pgfnNs.name, names, async (name) => {
          await pgfn.post(requestEvent(pgfnNs.name, name));
        });
        return { refused: refusedHere, ms: Date.now() - began, statusesMs };
      } finally {
        await pgfn.stop();
      }
    };
    // Both sides end (and stop what they started) before a failure of either is reported.
    const helpers: Helpers[] = [];
    let upstreamDone: PromiseSettledResult<Side>;
    let pgfnDone: PromiseSettledResult<Side>;
    try {
      helpers.push(await startHelpers(kc, upstreamNs.name), await startHelpers(kc, pgfnNs.name));
      [upstreamDone, pgfnDone] = await Promise.allSettled([upstreamSide(), pgfnSide()]);
    } finally {
      for (const h of helpers) await h.stop();
    }
    if (upstreamDone.status === 'rejected') throw upstreamDone.reason;
    if (pgfnDone.status === 'rejected') throw pgfnDone.reason;
    refused = upstreamDone.value.refused;
    expect([...pgfnDone.value.refused], 'the same CRD refuses the same manifests').to.deep.equal([...refused]);
    const seconds = (side: Side): string => `${(side.ms / 1000).toFixed(1)} s (statuses after ${(side.statusesMs / 1000).toFixed(1)} s)`;
    console.log(`      side by side: Zalando settled in ${seconds(upstreamDone.value)}, pgfn in ${seconds(pgfnDone.value)}`);

    const upstream = await listAll(kc, upstreamNs.name);
    const ours = await listAll(kc, pgfnNs.name);
    const upstreamRun = runIdentity(upstreamNs.name, upstream);
    const pgfnRun = runIdentity(pgfnNs.name, ours);
    const keys = [...new Set([...upstream.keys(), ...ours.keys()])].sort();
    compared = keys.length;
    found = keys.flatMap((key) => {
      const u = upstream.get(key);
      const p = ours.get(key);
      if (u === undefined || p === undefined) return [{ object: key, path: '(object)', upstream: u !== undefined, pgfn: p !== undefined }];
      return differences(key, normalise(u, upstreamRun), normalise(p, pgfnRun));
    });
    console.log(`      ${cases.length} manifests, ${compared} objects compared, ${found.length} field differences`);
    // Every difference, for reading and for keeping the table up to date (not an assertion).
    writeFileSync(join(tmpdir(), 'pgfn-differential.json'), `${JSON.stringify(found, null, 2)}\n`);
  });

  after(async () => {
    for (const ns of namespaces.slice(1)) await dropFinalizers(kc, ns.name).catch(() => undefined);
    for (const ns of namespaces) await ns.cleanup();
  });

  const documented = documentedDifferences(readFileSync(join(repoRoot, 'docs/differences-from-upstream.md'), 'utf8'));

  it("covers crds/examples/ and upstream's example manifests", () => {
    const sources = new Set(cases.map((c) => c.source.split('/')[0]));
    expect([...sources].sort()).to.deep.equal(['crds', 'upstream']);
    expect(compared).to.be.greaterThan(cases.length);
  });

  it("refuses only upstream's examples of a PostgreSQL version its CRD no longer lists", () => {
    // v1.15.1's lowest-version and service-monitor examples ask for PostgreSQL 13; the CRD pgfn ships
    // (v2.0.1's list, 14 to 18) refuses them for both operators alike, so neither makes anything for them.
    expect([...refused]).to.deep.equal([
      ['acid-minimal-cluster', 'spec.postgresql.version'],
      ['acid-upgrade-test', 'spec.postgresql.version'],
    ]);
  });

  it('makes every object Zalando makes, field by field, or the difference is documented with its reason', () => {
    const unexplained = found.filter((d) => !documented.some((doc) => matches(doc, d)));
    const shown = unexplained.map((d) => `${d.object} ${d.path}: upstream ${JSON.stringify(d.upstream)}, pgfn ${JSON.stringify(d.pgfn)}`);
    expect(unexplained.length, `differences missing from docs/differences-from-upstream.md:\n${shown.join('\n')}`).to.equal(0);
  });

  it('documents no difference that no longer occurs', () => {
    const stale = documented.filter((doc) => !found.some((d) => matches(doc, d)));
    expect(stale.map((d) => `${d.object} ${d.path}`)).to.deep.equal([]);
  });
});
