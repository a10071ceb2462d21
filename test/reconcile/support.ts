import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { CloudEvent, HTTP } from 'cloudevents';
import { parse } from 'yaml';
import { DEFAULT_OPERATOR_CONFIG, type OperatorConfig, type Postgresql } from '@pgfn/api';
import { repoRoot } from '@pgfn/controlplane';
import { createLogger, createMetrics, randomPassword, startFunction } from '@pgfn/fn-runtime';
import { KubeClient } from '@pgfn/kube';
import { createHandler } from '../../functions/reconcile/src/handler.js';
import { realBuilder } from '../../functions/reconcile/src/builder-port.js';
import { syncRoles } from '../../functions/reconcile/src/role-sync.js';
import { syncStreams } from '../../functions/reconcile/src/streams-sync.js';

/** Every request the function made, by verb, so tests can assert "no writes". */
export interface RequestLog {
  readonly counts: Map<string, number>;
  /** Requests by `<verb> <kind>`, e.g. `list PersistentVolumeClaim`. */
  readonly byKind: Map<string, number>;
  writes(): number;
  reset(): void;
}

export interface RunningReconcile {
  readonly url: string;
  readonly requests: RequestLog;
  readonly emitted: { type: string; subject: string; data: Record<string, unknown> }[];
  post(event: CloudEvent<unknown>, mode?: 'binary' | 'structured'): Promise<Response>;
  stop(): Promise<void>;
}

const WRITE_VERBS = new Set(['apply', 'delete', 'patch', 'patch-status', 'create']);

/** The reconcile app on a free port, with real clients against the test control plane. */
export async function startReconcile(
  kc: k8s.KubeConfig,
  /** Namespaces a resync covers; `undefined`: all. */
  watchedNamespace: string | undefined,
  config: OperatorConfig = DEFAULT_OPERATOR_CONFIG,
  options: {
    syncRoles?: boolean;
    syncStreams?: boolean;
    reach?: (m: { host: string; port: number }) => { host: string; port: number };
    now?: () => Date;
    /** Log at this level into this file instead of PGFN_TEST_LOG to stdout. */
    log?: { level: string; file: string };
    /** Told of every request before it is sent; throwing stops the invocation there (a crash). */
    observe?: (verb: string, kind: string) => void;
  } = {},
): Promise<RunningReconcile> {
  const counts = new Map<string, number>();
  const byKind = new Map<string, number>();
  const requests: RequestLog = {
    counts,
    byKind,
    writes: () => [...counts].filter(([verb]) => WRITE_VERBS.has(verb)).reduce((n, [, c]) => n + c, 0),
    reset: () => {
      counts.clear();
      byKind.clear();
    },
  };
  const emitted: RunningReconcile['emitted'] = [];
  const kube = new KubeClient(kc, (verb, kind) => {
    if (process.env['PGFN_TEST_TRACE'] === '1') process.stderr.write(`TRACE ${verb} ${kind}\n`);
    counts.set(verb, (counts.get(verb) ?? 0) + 1);
    byKind.set(`${verb} ${kind}`, (byKind.get(`${verb} ${kind}`) ?? 0) + 1);
    options.observe?.(verb, kind);
  });
  const log =
    options.log === undefined
      ? createLogger('reconcile-test', process.env['PGFN_TEST_LOG'] ?? 'silent')
      : createLogger('reconcile-test', options.log.level, options.log.file);
  const handle = createHandler({
    kube,
    builder: realBuilder,
    log,
    loadConfig: () => Promise.resolve({ config, problems: [] }),
    newPassword: () => randomPassword(),
    now: options.now ?? (() => new Date()),
    emit: (type, subject, data) => {
      emitted.push({ type, subject, data });
      return Promise.resolve();
    },
    ...(watchedNamespace === undefined ? {} : { watchedNamespace }),
    ...(options.syncRoles === true
      ? {
          // The test Postgres has no TLS: `prefer` falls back to plain, as a cluster without certs would.
          syncRoles: (cluster, cfg, pods, log) =>
            syncRoles(
              {
                kube,
                now: () => new Date(),
                newPassword: () => randomPassword(),
                sslmode: 'prefer',
                ...(options.reach === undefined ? {} : { reach: options.reach }),
              },
              { cluster, config: cfg, pods, log },
            ),
        }
      : {}),
    ...(options.syncStreams === true
      ? {
          syncStreams: (cluster, cfg, pods) =>
            syncStreams(
              { kube, sslmode: 'prefer', ...(options.reach === undefined ? {} : { reach: options.reach }) },
              { cluster, config: cfg, pods },
            ),
        }
      : {}),
  });
  // The node:http server the bundle serves, as in production.
  const { server, url } = await startFunction({
    fn: 'reconcile',
    handle,
    log,
    metrics: createMetrics('reconcile-test', false),
    port: 0,
    host: '127.0.0.1',
  });
  return {
    url,
    requests,
    emitted,
    post: async (event, mode = 'binary') => {
      const msg = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
      return fetch(url, { method: 'POST', headers: msg.headers as Record<string, string>, body: msg.body as string });
    },
    stop: async () => {
      await new Promise((r) => server.close(r));
    },
  };
}

/** A CloudEvent shaped like the ApiServerSource's in Resource mode. */
export function resourceEvent(
  verb: 'add' | 'update' | 'delete',
  obj: { kind?: string; apiVersion?: string; metadata?: { name?: string; namespace?: string }; status?: unknown },
): CloudEvent<unknown> {
  return new CloudEvent({
    type: `dev.knative.apiserver.resource.${verb}`,
    source: 'https://127.0.0.1/apis/v1',
    subject: `/apis/${obj.apiVersion ?? ''}/namespaces/${obj.metadata?.namespace ?? ''}/postgresqls/${obj.metadata?.name ?? ''}`,
    kind: obj.kind ?? 'postgresql',
    name: obj.metadata?.name ?? '',
    namespace: obj.metadata?.namespace ?? '',
    apiversion: obj.apiVersion ?? 'acid.zalan.do/v1',
    datacontenttype: 'application/json',
    data: obj,
  });
}

/** A Spilo pod's change, as the pgfn-spilo ApiServerSource sends it: reconcile refreshes the cluster's status. */
export function podEvent(namespace: string, cluster: string, pod = `${cluster}-0`, clusterNameLabel = 'cluster-name'): CloudEvent<unknown> {
  return resourceEvent('update', {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name: pod, namespace, labels: { application: 'spilo', [clusterNameLabel]: cluster } } as never,
  });
}

/** Another function asking for one cluster to be reconciled in full (dev.pgfn.reconcile.requested). */
export function requestEvent(namespace: string, cluster: string): CloudEvent<unknown> {
  return new CloudEvent({ type: 'dev.pgfn.reconcile.requested', source: 'pgfn/test', subject: `${namespace}/${cluster}`, data: {} });
}

export function pingEvent(): CloudEvent<unknown> {
  return new CloudEvent({ type: 'dev.knative.sources.ping', source: '/apis/v1/namespaces/pgfn-system/pingsources/resync', data: {} });
}

/** An example manifest from crds/examples, renamed and placed in a namespace. */
export function example(file: string, namespace: string, name?: string): Postgresql & k8s.KubernetesObject {
  const doc = parse(readFileSync(join(repoRoot, 'crds/examples', file), 'utf8')) as Postgresql & k8s.KubernetesObject;
  return { ...doc, metadata: { ...doc.metadata, namespace, ...(name === undefined ? {} : { name }) } };
}

/** Pins a cluster's pods to the kwok node, so other tests' nodes (the Spilo node agent) never get them. */
export function onKwok<T extends Postgresql>(pg: T): T {
  return {
    ...pg,
    spec: {
      ...pg.spec,
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'type', operator: 'In', values: ['kwok'] }] }],
        },
      },
    },
  };
}

/**
 * Plays Patroni for kwok pods: pod 0 becomes master, the others replicas (only what the operator reads).
 * `labels` names the configured cluster_name_label and pod_role_label when they are not the defaults.
 */
export async function labelLikePatroni(
  kc: k8s.KubeConfig,
  namespace: string,
  cluster: string,
  labels: { clusterName: string; role: string } = { clusterName: 'cluster-name', role: 'spilo-role' },
): Promise<number> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const pods = (await core.listNamespacedPod({ namespace, labelSelector: `${labels.clusterName}=${cluster}` })).items;
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    const role = name.endsWith('-0') ? 'master' : 'replica';
    if (pod.metadata?.labels?.[labels.role] === role) continue;
    await core.patchNamespacedPod(
      { namespace, name, body: { metadata: { labels: { [labels.role]: role } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }
  return pods.length;
}
