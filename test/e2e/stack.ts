// The whole local stack inside a test, as `npm run local` runs it: our CRDs, an OperatorConfiguration
// that steers Spilo pods to the node agent (node_readiness_label), the node agent playing kubelet with
// real Patroni + PostgreSQL + PgBouncer, and the event pipeline (real Knative receive adapters as the
// sources' ServiceAccount → local broker routing by knative/ Triggers → each function as its own
// process acting as its own ServiceAccount). Tests talk to the API server only, like a user.
// Starting real Postgres: run under `flock /tmp/pgfn-realpg.lock`.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { Postgresql } from '@pgfn/api';
import { repoRoot } from '@pgfn/controlplane';
import { startPipeline, type Pipeline } from '@pgfn/pipeline';
import { agentNodeLabels } from '@pgfn/node-agent';
import { ensureCrds } from '../crds/install.js';
import { identityForFunction, identityForServiceAccount } from '../support/fn-identity.js';
import { testEnv } from '../support/env.js';
import { adminConfig, createNamespace, eventually, statusOf } from '../support/kube.js';
import { startTestAgent, startTestNodes, type TestAgent, type TestNodes } from '../node-agent/support.js';

export type Cluster = Postgresql & k8s.KubernetesObject;
export const PG = { group: 'acid.zalan.do', version: 'v1', plural: 'postgresqls' };
const CONFIG = { group: 'acid.zalan.do', version: 'v1', plural: 'operatorconfigurations' };

export interface StackOptions {
  readonly prefix: string;
  /** Functions to run (default reconcile only), each with extra env. */
  readonly functions?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Extra `configuration:` keys merged over upstream's default OperatorConfiguration. */
  readonly configuration?: Readonly<Record<string, unknown>>;
  readonly idleMs?: number;
  /** Several local nodes instead of one agent (ADR 0075); `agent` is then the first of them. */
  readonly nodes?: { readonly count: number; readonly zones?: number };
  /** Fire knative/'s PingSources on their schedules (default off). */
  readonly schedulePings?: boolean;
}

export interface Stack {
  readonly kc: k8s.KubeConfig;
  readonly core: k8s.CoreV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly namespace: string;
  readonly agent: TestAgent;
  /** The local nodes when `nodes` was asked for. */
  readonly nodes: TestNodes | undefined;
  readonly pipeline: Pipeline;
  readonly logDir: string;
  read(name: string): Promise<Cluster | undefined>;
  edit(name: string, change: (spec: Cluster['spec']) => Cluster['spec']): Promise<void>;
  /** Polls the CR until `check` returns a value. */
  waitFor<T>(what: string, name: string, check: (c: Cluster | undefined) => T | undefined, timeoutMs?: number): Promise<T>;
  /** Password of `role` from the cluster's credentials Secret. */
  password(cluster: string, role: string): Promise<string>;
  stop(): Promise<void>;
}

function deepMerge(base: Record<string, unknown>, over: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v !== null && typeof v === 'object' && !Array.isArray(v) && b !== null && typeof b === 'object' && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

async function applyOperatorConfiguration(
  kc: k8s.KubeConfig,
  namespace: string,
  extra: Readonly<Record<string, unknown>>,
): Promise<string> {
  const doc = parse(readFileSync(join(repoRoot, 'crds/examples/operatorconfiguration.yaml'), 'utf8')) as {
    configuration: Record<string, unknown>;
  };
  const name = 'pgfn-e2e-configuration';
  const configuration = deepMerge(doc.configuration, {
    kubernetes: { node_readiness_label: agentNodeLabels() },
    ...extra,
  });
  const body = { apiVersion: 'acid.zalan.do/v1', kind: 'OperatorConfiguration', metadata: { name, namespace }, configuration };
  await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({ ...CONFIG, namespace, body });
  return name;
}

async function applyPostgresPodRole(kc: k8s.KubeConfig): Promise<void> {
  const role = parse(readFileSync(join(repoRoot, 'knative/functions/postgres-pod.yaml'), 'utf8')) as k8s.V1ClusterRole;
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createClusterRole({ body: role }).catch((err: unknown) => {
    if (statusOf(err) !== 409) throw err;
  });
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const kc = adminConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await ensureCrds(kc); // before the adapters start: they resolve resources once
  const ns = await createNamespace(kc, o.prefix);
  const logDir = mkdtempSync(join(tmpdir(), `pgfn-${o.prefix}-`));
  let agent: TestAgent | undefined;
  let nodes: TestNodes | undefined;
  let pipeline: Pipeline | undefined;
  try {
    const configName = await applyOperatorConfiguration(kc, ns.name, o.configuration ?? {});
    await applyPostgresPodRole(kc);
    if (o.nodes === undefined) agent = await startTestAgent(`pgfn-agent-${ns.name}`.slice(0, 63));
    else {
      const started = await startTestNodes({ ...o.nodes, namePrefix: `pgfn-${ns.name}`.slice(0, 55) });
      nodes = started;
      const first = started.nodes.agents[0];
      if (first === undefined) throw new Error('no local node started');
      agent = { agent: first, dataDir: started.dataDir, logDir: started.dataDir, stop: () => started.stop() };
    }
    const configEnv = { OPERATOR_NAMESPACE: ns.name, POSTGRES_OPERATOR_CONFIGURATION_OBJECT: configName, WATCHED_NAMESPACE: ns.name };
    const wanted = o.functions ?? { reconcile: {} };
    const functions: Record<string, { env: Record<string, string> }> = {};
    for (const [fn, env] of Object.entries(wanted)) {
      const id = await identityForFunction(fn);
      functions[fn] = { env: { ...configEnv, ...env, KUBECONFIG: id.file } };
    }
    const source = await identityForServiceAccount('pgfn-apiserver-source', 'pgfn-system');
    pipeline = await startPipeline({
      kubeconfig: testEnv().kubeconfig,
      adapterKubeconfig: source.file,
      logDir,
      functions,
      schedulePings: o.schedulePings ?? false,
      idleMs: o.idleMs ?? 300_000,
    });
  } catch (err) {
    await pipeline?.stop();
    await agent?.stop();
    await ns.cleanup();
    throw err;
  }
  const read = async (name: string): Promise<Cluster | undefined> =>
    custom.getNamespacedCustomObject({ ...PG, namespace: ns.name, name }).then(
      (c) => c as Cluster,
      (e: unknown) => {
        if (statusOf(e) === 404) return undefined;
        throw e;
      },
    );
  const started = { agent, pipeline, nodes };
  return {
    kc,
    core,
    custom,
    namespace: ns.name,
    agent: started.agent,
    nodes: started.nodes,
    pipeline: started.pipeline,
    logDir,
    read,
    edit: async (name, change) => {
      for (let attempt = 0; ; attempt++) {
        const cur = await read(name);
        if (cur === undefined) throw new Error(`${name} is gone`);
        try {
          await custom.replaceNamespacedCustomObject({ ...PG, namespace: ns.name, name, body: { ...cur, spec: change(cur.spec) } });
          return;
        } catch (err) {
          if (statusOf(err) !== 409 || attempt > 5) throw err;
        }
      }
    },
    waitFor: (what, name, check, timeoutMs = 180_000) => eventually(what, async () => check(await read(name)), timeoutMs, 500),
    password: async (cluster, role) => {
      const secret = await core.readNamespacedSecret({
        namespace: ns.name,
        name: `${role.replace(/_/g, '-')}.${cluster}.credentials.postgresql.acid.zalan.do`,
      });
      return Buffer.from(secret.data?.['password'] ?? '', 'base64').toString('utf8');
    },
    stop: async () => {
      await started.pipeline.stop();
      await started.agent.stop();
      await ns.cleanup();
    },
  };
}

/** A manifest for the stack: PostgreSQL 15 (what this machine has), tuned Patroni timings. */
export function manifest(namespace: string, name: string, spec: Partial<Cluster['spec']> = {}): Cluster {
  return {
    apiVersion: 'acid.zalan.do/v1',
    kind: 'postgresql',
    metadata: { name, namespace },
    spec: {
      teamId: name.split('-')[0] ?? 'acid',
      numberOfInstances: 2,
      postgresql: { version: '15' },
      volume: { size: '1Gi' },
      patroni: { ttl: 10, loop_wait: 2, retry_timeout: 4 },
      ...spec,
    },
  };
}
