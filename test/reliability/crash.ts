// Crash after each write (issue 20, item 2, reconcile): for a scenario, the function dies after write n
// (n = 0, 1, … until a run finishes), then a fresh instance gets the next event; the cluster must then
// equal a fresh reconcile of its spec, and every credential Secret that existed after the crash must
// keep its password. The crash is the invocation stopping at the (n+1)-th write, before it is sent:
// the first n reached the API server, nothing after them did, and nothing of the dead instance's
// memory survives (the next event goes to a new handler).
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, DEFAULT_OPERATOR_CONFIG, POSTGRESQL_KIND, type PostgresSpec, type Postgresql } from '@pgfn/api';
import { KubeClient } from '@pgfn/kube';
import { example, onKwok, requestEvent, resourceEvent, startReconcile } from '../reconcile/support.js';
import { divergences, passwords } from './convergence.js';

type Cluster = Postgresql & KubernetesObject;
const WRITES = new Set(['apply', 'create', 'delete', 'patch', 'patch-status', 'replace']);
const CONFIG = DEFAULT_OPERATOR_CONFIG;

export interface CrashScenario {
  readonly what: string;
  /** Short, for cluster names. */
  readonly id: string;
  /** undefined: the crashing reconcile is the cluster's first; else the cluster runs first and this edit crashes. */
  readonly edit?: (spec: PostgresSpec) => PostgresSpec;
}

export const CRASH_SCENARIOS: readonly CrashScenario[] = [
  { what: 'a new cluster', id: 'new' },
  {
    what: 'an edit touching many objects (instances, users, pooler, logical backup, resources)',
    id: 'edit',
    edit: (s) => ({
      ...s,
      numberOfInstances: 3,
      users: { ...s.users, reader: [], writer: ['createdb'] },
      enableConnectionPooler: true,
      enableLogicalBackup: true,
      resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '1', memory: '1Gi' } },
    }),
  },
];

export interface CrashReport {
  /** Writes of the reconcile when nothing crashes (one crash point each). */
  readonly writes: number;
  /** One line per crash point after which the cluster did not converge or a password changed. */
  readonly failures: readonly string[];
}

/** Every crash point of `scenario`, each on its own cluster in `namespace`. */
export async function runCrashScenario(kc: KubeConfig, namespace: string, scenario: CrashScenario): Promise<CrashReport> {
  const kube = new KubeClient(kc);
  const read = async (name: string): Promise<Cluster> => {
    const c = await kube.get<Cluster>({ apiVersion: API_VERSION, kind: POSTGRESQL_KIND, namespace, name });
    if (c === undefined) throw new Error(`${name} is gone`);
    return c;
  };
  const failures: string[] = [];
  for (let n = 0; ; n++) {
    const name = `acid-${scenario.id}-${n}`;
    const base = onKwok(example('minimal.yaml', namespace, name));
    await kube.create<Cluster>(base);
    if (scenario.edit !== undefined) {
      await reconcileOnce(kc, namespace, name);
      await kube.replace<Cluster>({ ...(await read(name)), spec: scenario.edit(base.spec) });
    }
    const { made, crashed } = await crashAfter(kc, namespace, { writes: n, event: await read(name) });
    const kept = await passwords(kube, await read(name), CONFIG);
    await reconcileOnce(kc, namespace, name);
    const found = await divergences(kube, { namespace, name }, CONFIG);
    const after = await passwords(kube, await read(name), CONFIG);
    const changed = [...kept].filter(([secret, pw]) => after.get(secret) !== pw).map(([secret]) => `${secret}: password changed`);
    if (found.length + changed.length > 0) failures.push(`crash after write ${n}: ${[...found, ...changed].join('; ')}`);
    if (!crashed) return { writes: made, failures };
  }
}

/** Posts the cluster's update event to an instance that dies after `writes` writes. */
async function crashAfter(
  kc: KubeConfig,
  namespace: string,
  { writes, event }: { writes: number; event: Cluster },
): Promise<{ made: number; crashed: boolean }> {
  let made = 0;
  let crashed = false;
  const fn = await startReconcile(kc, namespace, CONFIG, {
    observe: (verb) => {
      if (!WRITES.has(verb)) return;
      if (made >= writes) {
        crashed = true;
        throw new Error(`crashed after ${writes} write(s)`);
      }
      made++;
    },
  });
  try {
    await fn.post(resourceEvent('update', event));
  } finally {
    await fn.stop();
  }
  return { made, crashed };
}

/** A fresh instance reconciles the cluster once; it must answer 200. */
async function reconcileOnce(kc: KubeConfig, namespace: string, name: string): Promise<void> {
  const fn = await startReconcile(kc, namespace, CONFIG);
  try {
    const res = await fn.post(requestEvent(namespace, name));
    if (res.status !== 200) throw new Error(`reconcile of ${namespace}/${name} answered ${res.status}: ${await res.text()}`);
  } finally {
    await fn.stop();
  }
}
